"""What each credibility table counts: its categories and how an instance falls into one, as SQL
(for the set-based computation) and as ORM filters (for the drill-down to a cell's records).

Code meanings (spec/student-record.md and the agency's code lists):
- level: QUALAIM 01-19 postgraduate (PG), 20-99 undergraduate (UG) (the spec's "Level");
- mode: MODE 63 and 64 dormant (the spec); otherwise full-time below 30 (01, 02, 12-14, 23-25 in
  the agency's list: full-time, sandwich), part-time from 30 (31, 33-39, 43, 44, 73, 74: part-time,
  writing up);
- entrants: instances whose COMDATE is in the collection's reporting period (1 August Y to
  31 July Y+1), by level;
- leavers: instances with a RSNLEAVE, by its code;
- domicile: the DOMICILE group (core.domicile, shared with the contact details population): UK
  (XF XG XH XI XK), EU (member states), overseas (any other code), not known (ZZ or none);
- gender and ethnic: the student's GENDER and ETHNIC code, counted per instance.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from core.domicile import EU_MEMBER_STATES, NOT_KNOWN_DOMICILE, UK_DOMICILES, HomeEuOs, homeeuos_sql

DORMANT_MODES = ("63", "64")
PART_TIME_FROM = "30"
PG_BELOW = "20"


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    # Categories always shown in this order (even when nothing falls in them), as (code, label);
    # a table of codes (QUALAIM, RSNLEAVE, ETHNIC) shows whatever codes either year has.
    fixed: tuple[tuple[str, str], ...] = ()


TABLES = (
    Table(
        "level", "Instances by level", (("PG", "Postgraduate (QUALAIM 01-19)"), ("UG", "Undergraduate (QUALAIM 20-99)"))
    ),
    Table(
        "mode",
        "Instances by mode of study",
        (
            ("FT", "Full-time (MODE below 30)"),
            ("PT", "Part-time (MODE 30 and over)"),
            ("DORMANT", "Dormant (MODE 63, 64)"),
        ),
    ),
    Table("qualaim", "Instances by qualification aim (QUALAIM)"),
    Table(
        "entrants",
        "Entrants (COMDATE in the reporting period), by level",
        (("PG", "Postgraduate"), ("UG", "Undergraduate")),
    ),
    Table("leavers", "Leavers, by reason for leaving (RSNLEAVE)"),
    Table("domicile", "Instances by domicile group (DOMICILE)", tuple(HomeEuOs.choices)),
    Table("gender", "Instances by gender (GENDER)", (("M", "M"), ("F", "F"), ("X", "X"), ("9", "9 (not known)"))),
    Table("ethnic", "Instances by ethnicity (ETHNIC)"),
)
TABLES_BY_KEY = {table.key: table for table in TABLES}


def category_label(table: str, category: str) -> str:
    return dict(TABLES_BY_KEY[table].fixed).get(category, category)


# Per instance (i: sr_instance, s: sr_student), the category in each table; NULL: not in the table.
LEVEL_SQL = f"CASE WHEN i.qualaim < '{PG_BELOW}' THEN 'PG' ELSE 'UG' END"
MODE_SQL = (
    f"CASE WHEN i.mode IN ('{DORMANT_MODES[0]}', '{DORMANT_MODES[1]}') THEN 'DORMANT' "
    f"WHEN i.mode < '{PART_TIME_FROM}' THEN 'FT' ELSE 'PT' END"
)
DOMICILE_SQL = homeeuos_sql("i.domicile")


def cell_filter(table: str, category: str, *, period: tuple) -> Q:
    """The ORM filter on Instance selecting one cell's records (the drill-down); the same
    partition as the SQL above."""
    if table == "level":
        return Q(qualaim__lt=PG_BELOW) if category == "PG" else Q(qualaim__gte=PG_BELOW)
    if table == "mode":
        if category == "DORMANT":
            return Q(mode__in=DORMANT_MODES)
        rest = ~Q(mode__in=DORMANT_MODES)
        return rest & (Q(mode__lt=PART_TIME_FROM) if category == "FT" else Q(mode__gte=PART_TIME_FROM))
    if table == "qualaim":
        return Q(qualaim=category)
    if table == "entrants":
        level = Q(qualaim__lt=PG_BELOW) if category == "PG" else Q(qualaim__gte=PG_BELOW)
        return level & Q(comdate__range=period)
    if table == "leavers":
        return Q(rsnleave=category)
    if table == "domicile":
        uk, eu = Q(domicile__in=UK_DOMICILES), Q(domicile__in=EU_MEMBER_STATES)
        unknown = Q(domicile__isnull=True) | Q(domicile__in=("", NOT_KNOWN_DOMICILE))
        return {HomeEuOs.UK: uk, HomeEuOs.EU: eu, HomeEuOs.NOT_KNOWN: unknown}.get(category, ~uk & ~eu & ~unknown)
    if table == "gender":
        return Q(student__gender=category)
    if table == "ethnic":
        return Q(student__ethnic=category)
    raise KeyError(table)
