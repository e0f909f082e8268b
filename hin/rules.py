"""Year-on-year HIN checks (reports A-D of the guidance C06011 "HIN Reports"), as linking-stage rules.

Each check compares the submission with the provider's approved submission of the previous
year (``ctx.previous_submission_id``), in one set-based SELECT that PostgreSQL and SQLite both
run; see ../shared/spec/student-record.md for the table of checks. Terms:

- linked: same HUSID and NUMHUS in both years (INSTID is always the provider's own).
- closed off: RSNLEAVE and DATELEFT both present, or NOTACT present, or MODE 63/64.
- BPQ match: BIRTHDTE, POSTCODE and QUALAIM exactly equal. An empty POSTCODE (optional for
  non-UK domicile) never matches: "suggested matches can only be returned if data in all three
  fields of both records match exactly".
- Suggested matches only pair records that have no HIN link themselves: an incoming record
  without a link with a previous record without a link. A record that already links is
  accounted for; suggesting it as the partner of another would break a good link.

Between them checks 6, 7 and 8 report every unlinked pair from each side it concerns (rows: the
incoming record without a link; columns: the previous record without a link that it
BPQ-matches). Check 8 has no COMDATE condition (the guidance's example 30 is a record that began
before the period), so a record matching a closed-off one is in report B and in report D:

==============================  ==========================  ===============================
incoming record                 previous record was live    previous record was closed off
==============================  ==========================  ===============================
COMDATE before the period       HIN6 cat. 1 + HIN7g cat. 1  HIN6 cat. 2 + HIN8
COMDATE within the period       HIN7g cat. 2                HIN8
==============================  ==========================  ===============================

An incoming record with COMDATE before the period and no match is HIN6 category 3; a live
previous record with no incoming record and no match is HIN7h. Where several records match,
the best suggestion is taken (live before closed; continuing before new; then file order),
found with window functions over BPQ groups rather than a pairwise join.

Every check's SQL takes the same named parameters (``_params``): %(previous)s, the previous
year's submission, and %(period_start)s, the first day of the reporting period.

Check 7 rows are about the previous year's record: instance, student, line, HUSID and NUMHUS
are that record's; the message names the suggested incoming record. Categories go in
``field`` ("category 1") as well as in the message.
"""

from datetime import date
from functools import partial

from collections_app.models import CollectionKind, Severity
from collections_app.rules import registry

from .workspace import LINKING, UNLINKED_COLUMNS, closed_off

rule = partial(registry.rule, record_kind=CollectionKind.STUDENT_RECORD)

# The previous submission's year label ("2022/23") and collection reference, as a one-row table.
PREVIOUS_YEAR = """
    SELECT CAST(pc.reporting_year AS VARCHAR) || '/'
           || substr(CAST(pc.reporting_year + 1 AS VARCHAR), 3, 2) AS label,
           pc.reference AS ref
    FROM collections_app_submission ps
    JOIN collections_app_collection pc ON pc.id = ps.collection_id
    WHERE ps.id = %(previous)s
"""


def _level(column: str) -> str:
    return f"CASE WHEN {column} < '20' THEN 'postgraduate' ELSE 'undergraduate' END"


def _shown(expression: str) -> str:
    return f"CASE WHEN {expression} = '' THEN '(blank)' ELSE {expression} END"


def _params(ctx) -> dict:
    """The named parameters of every check: the previous year's submission and the start of the
    reporting period (1 August)."""
    return {"previous": ctx.previous_submission_id, "period_start": date(ctx.reporting_year, 8, 1).isoformat()}


def _unlinked_records(side: str, *, closed: bool | None = None, comdate: str = "", matchable=False) -> str:
    """Rows of hin_unlinked for one side ('c' current, 'p' previous). `closed` filters on closed
    off; `comdate` ("<" or ">=") compares COMDATE with %(period_start)s; `matchable`
    keeps only records with a POSTCODE (a BPQ match needs one)."""
    conditions = ""
    if closed is not None:
        conditions += f" AND closed = {1 if closed else 0}"
    if comdate:
        conditions += f" AND comdate {comdate} %(period_start)s"
    if matchable:
        conditions += " AND postcode <> ''"
    return f"SELECT {UNLINKED_COLUMNS} FROM hin_unlinked WHERE side = '{side}'{conditions}"


def _best_match(order: str) -> str:
    """Window columns over `u` (records of both sides): the side and id of the first record, in
    `order`, of the record's BPQ group (BIRTHDTE, POSTCODE, QUALAIM). Ordering the wanted side
    first makes that the record's best suggested match, if it has one. One sort, no pairwise join:
    set-based and fast on both databases however many records share a postcode."""
    window = f"PARTITION BY birthdte, postcode, qualaim ORDER BY {order}, line, id"
    return f"FIRST_VALUE(side) OVER ({window}) AS match_side, FIRST_VALUE(id) OVER ({window}) AS match_id"


def _relink(target: str, source: str, *, target_prefix: str = "", source_prefix: str = "") -> str:
    """SQL text: how to change the incoming record (columns `target`.`target_prefix`husid, ...) so
    it carries the HIN of a previous-year record (`source`.`source_prefix`husid, ...), e.g.
    "set NUMHUS to 1 (now 2) on HUSID 9811681234562 to restore the link to BSc Maths (2022/23)"."""
    t_husid, t_numhus = f"{target}.{target_prefix}husid", f"{target}.{target_prefix}numhus"
    s_husid, s_numhus = f"{source}.{source_prefix}husid", f"{source}.{source_prefix}numhus"
    s_ptitle = f"{source}.{source_prefix}ptitle"
    return f"""(CASE
        WHEN {t_husid} = {s_husid}
            THEN 'set NUMHUS to ' || {s_numhus} || ' (now ' || {t_numhus} || ') on HUSID ' || {t_husid}
        WHEN {t_numhus} = {s_numhus}
            THEN 'set HUSID to ' || {s_husid} || ' (now ' || {t_husid} || ') on the record with NUMHUS '
                 || {t_numhus}
        ELSE 'set HUSID to ' || {s_husid} || ' and NUMHUS to ' || {s_numhus} || ' (now HUSID ' || {t_husid}
             || ', NUMHUS ' || {t_numhus} || ')'
    END || ' to restore the link to ' || {s_ptitle} || ' (' || y.label || ')')"""


# Report A: a HIN link, but the linked records disagree. ------------------------------------------


def _change(current: str, previous: str) -> str:
    """A failure's value for a report A check: the change, e.g. "F (was M)". Confirmations of
    warnings are keyed on it, so a confirmation covers exactly this change of this record."""
    return f"{_shown(current)} || ' (was ' || {_shown(previous)} || ')'"


def _linked_pairs(condition: str, field: str, value: str, message: str):
    """A report A check: every linked pair of hin_pair (h: the current record's id and HIN, h.c_*
    and h.p_* the compared fields of both years) where `condition` holds, reported on the current
    record, with the previous one as other record."""

    def sql(ctx):
        return (
            f"""
            SELECT h.id, h.student_id, h.line, h.husid, h.numhus, '{field}', {value}, {message}, h.p_id
            FROM hin_pair h
            CROSS JOIN ({PREVIOUS_YEAR}) y
            WHERE {condition}
            """,
            _params(ctx),
        )

    return sql


WRONG_PROGRAMME = "if this is a different programme, give this record a new NUMHUS"
WRONG_PERSON = "if this is a different person, this record needs its own HUSID"


def _field_changed(
    code: str, field: str, current: str, previous: str, doc: str, *, otherwise=WRONG_PROGRAMME, title=None
):
    """Register a report A check that fires when one field differs between linked records."""
    message = (
        f"'{field} is ' || {_shown(current)} || ' here but was ' || {_shown(previous)}"
        f" || ' for this HIN in ' || y.label || ' (' || y.ref || '). If the link is right, restore '"
        f" || {_shown(previous)} || ' or confirm the change as a data quality improvement; {otherwise}.'"
    )
    func = _linked_pairs(f"{current} <> {previous}", field, _change(current, previous), message)
    func.__doc__ = doc
    func.__name__ = f"hin_{code.lower()}"
    rule(
        code=code,
        title=title or f"HIN link, but {field} differs",
        severity=Severity.WARNING,
        stage=LINKING,
        other_record=True,
    )(func)


@rule(
    code="HIN1",
    title="HIN link, but level differs (PG/UG)",
    severity=Severity.WARNING,
    stage=LINKING,
    other_record=True,
)
def hin1_level_differs(ctx):
    """Report A, check 1. The record links to last year's record with the same HUSID and NUMHUS,
    but one QUALAIM is postgraduate (01-19) and the other undergraduate (20-99). Either the HIN
    link is wrong (give this record a new NUMHUS) or QUALAIM is; or confirm a data quality
    improvement if last year's QUALAIM was wrong."""
    message = (
        "'QUALAIM ' || h.c_qualaim || ' (' || " + _level("h.c_qualaim") + " || ') links to QUALAIM ' || h.p_qualaim"
        " || ' (' || " + _level("h.p_qualaim") + " || ') for this HIN in ' || y.label || ' (' || y.ref || ')."
        " If the QUALAIMs are right this is a different programme: give this record a new NUMHUS. Otherwise"
        " correct QUALAIM, or confirm the change as a data quality improvement.'"
    )
    condition = f"{_level('h.c_qualaim')} <> {_level('h.p_qualaim')}"
    return _linked_pairs(condition, "QUALAIM", _change("h.c_qualaim", "h.p_qualaim"), message)(ctx)


@rule(
    code="HIN2",
    title="HIN link, but COMDATE is in the reporting period",
    severity=Severity.WARNING,
    stage=LINKING,
    other_record=True,
)
def hin2_comdate_in_period(ctx):
    """Report A, check 2. The record links to last year's record, so the student was already on
    the programme, but its COMDATE is on or after the start of the reporting period (1 August).
    Either the link is wrong (a new programme needs a new NUMHUS) or COMDATE should be the
    original one; or confirm a data quality improvement."""
    return _linked_pairs(
        "h.c_comdate >= %(period_start)s",
        "COMDATE",
        _change("CAST(h.c_comdate AS VARCHAR)", "CAST(h.p_comdate AS VARCHAR)"),
        "'COMDATE ' || CAST(h.c_comdate AS VARCHAR) || ' is on or after ' || %(period_start)s"
        " || ', the start of the reporting period, but this HIN was already returned in ' || y.label"
        " || ' (' || y.ref || ', COMDATE ' || CAST(h.p_comdate AS VARCHAR) || '). If the student started a new'"
        " || ' programme, give this record a new NUMHUS; if the link is right, restore COMDATE '"
        " || CAST(h.p_comdate AS VARCHAR) || ' or confirm the change as a data quality improvement.'",
    )(ctx)


_field_changed(
    "HIN3c",
    "QUALENT2",
    "h.c_qualent2",
    "h.p_qualent2",
    "Report A, check 3c. Linked records disagree on QUALENT2 (highest qualification on entry), which "
    "describes entry to the programme and should not change between years unless it was wrong or "
    "not known.",
)
_field_changed(
    "HIN3d",
    "POSTCODE",
    "h.c_postcode",
    "h.p_postcode",
    "Report A, check 3d. Linked records disagree on POSTCODE on entry to the programme.",
)
_field_changed(
    "HIN3h",
    "DOMICILE",
    "h.c_domicile",
    "h.p_domicile",
    "Report A, check 3h. Linked records disagree on DOMICILE on entry to the programme.",
)
_field_changed(
    "HIN3j",
    "ETHNIC",
    "h.c_ethnic",
    "h.p_ethnic",
    "Report A, check 3j. Linked records disagree on the student's ETHNIC code.",
)
_field_changed(
    "HIN3m",
    "YRLLINST",
    "h.c_yrllinst",
    "h.p_yrllinst",
    "Report A, check 3m. Linked records disagree on YRLLINST.",
)
_field_changed(
    "HIN3q",
    "UCASNUM",
    "h.c_ucasnum",
    "h.p_ucasnum",
    "Report A, check 3q. Linked records disagree on the student's UCASNUM.",
)
_field_changed(
    "HIN3u",
    "TOTALTS",
    "h.c_totalts",
    "h.p_totalts",
    "Report A, check 3u. Linked records disagree on TOTALTS (total UCAS tariff points on entry).",
)
_field_changed(
    "HIN5a",
    "BIRTHDTE",
    "CAST(h.c_birthdte AS VARCHAR)",
    "CAST(h.p_birthdte AS VARCHAR)",
    "Report A, check 5a. Linked records give different dates of birth: check the HIN, restore the "
    "right BIRTHDTE or confirm a data quality improvement.",
    otherwise=WRONG_PERSON,
)
_field_changed(
    "HIN5b",
    "GENDER",
    "h.c_gender",
    "h.p_gender",
    "Report A, check 5b. Linked records give different GENDER codes.",
    otherwise=WRONG_PERSON,
)
_field_changed(
    "HIN5c",
    "SURNAME",
    "h.c_surname",
    "h.p_surname",
    "Report A, check 5c. Linked records give different surnames.",
    otherwise=WRONG_PERSON,
)


# Report B: check 6. ----------------------------------------------------------------------------


@rule(
    code="HIN6",
    title="No HIN link for a record that began before the reporting period",
    severity=Severity.ERROR,
    stage=LINKING,
    other_record=True,
)
def hin6_no_link_continuing(ctx):
    """Report B, check 6. An incoming record whose COMDATE is before the reporting period (a
    continuing student) does not link to any record of last year. Category 1: its BIRTHDTE,
    POSTCODE and QUALAIM match a previous record that was live and has no link either (restore
    that HUSID/NUMHUS); category 2: they match a previous record that was closed off; category 3:
    no match (restore the HIN, correct COMDATE, or report the record missing from last year)."""
    sql = f"""
        WITH y AS ({PREVIOUS_YEAR}),
        u AS (
            {_unlinked_records("c", comdate="<")}
            UNION ALL
            {_unlinked_records("p", matchable=True)}
        ),
        r AS (
            SELECT u.*, {_best_match("CASE WHEN side = 'p' THEN 0 ELSE 1 END, closed")} FROM u
        ),
        c AS (
            SELECT r.*, CASE WHEN r.match_side <> 'p' THEN 3 WHEN {closed_off("m")} THEN 2 ELSE 1 END AS category,
                   m.id AS m_id, m.husid AS m_husid, m.numhus AS m_numhus, m.ptitle AS m_ptitle,
                   m.comdate AS m_comdate
            FROM r
            LEFT JOIN sr_instance m ON r.match_side = 'p' AND m.id = r.match_id
            WHERE r.side = 'c'
        )
        SELECT c.id, c.student_id, c.line, c.husid, c.numhus,
               'category ' || CAST(c.category AS VARCHAR),
               CASE WHEN c.category = 3 THEN '' ELSE 'HUSID ' || c.m_husid || ' NUMHUS ' || c.m_numhus END,
               'HUSID ' || c.husid || ' NUMHUS ' || c.numhus || ' (' || c.ptitle || ', COMDATE '
               || CAST(c.comdate AS VARCHAR) || ') began before the reporting period but links to no record of '
               || y.label || ' (' || y.ref || '). '
               || CASE WHEN c.category = 3 THEN
                      'Category 3: no ' || y.label || ' record matches its BIRTHDTE, POSTCODE and QUALAIM. If the '
                      || 'student continued from ' || y.label || ', restore the HUSID and NUMHUS returned then; '
                      || 'if they started this year, correct COMDATE; otherwise report the record missing from '
                      || 'the ' || y.label || ' submission.'
                  ELSE
                      'Category ' || CAST(c.category AS VARCHAR)
                      || ': BIRTHDTE, POSTCODE and QUALAIM match HUSID ' || c.m_husid || ' NUMHUS ' || c.m_numhus
                      || ' (' || c.m_ptitle || ', COMDATE ' || CAST(c.m_comdate AS VARCHAR) || '), which was '
                      || CASE WHEN c.category = 1 THEN 'live' ELSE 'closed off' END || ' in ' || y.label
                      || '. If it is the same programme, '
                      || {_relink("c", "c", source_prefix="m_")}
                      || CASE WHEN c.comdate <> c.m_comdate
                              THEN ', and restore COMDATE ' || CAST(c.m_comdate AS VARCHAR) ELSE '' END
                      || '. If not, correct COMDATE if the student started this year, or report the record '
                      || 'missing from the ' || y.label || ' submission.'
                  END,
               c.m_id
        FROM c
        CROSS JOIN y
    """
    return sql, _params(ctx)


# Report C: check 7. ----------------------------------------------------------------------------


# Incoming records first, and among them those that began before the period.
CURRENT_FIRST_CONTINUING_FIRST = (
    "CASE WHEN side = 'c' THEN 0 ELSE 1 END, CASE WHEN comdate < %(period_start)s THEN 0 ELSE 1 END"
)


def _live_hins_and_their_best_match() -> str:
    """CTEs y, u, p: each previous record that was live and whose HIN has no record now (side
    'p'), with its best incoming match by BPQ among records without a link: one whose COMDATE is
    before the period first (category 1), then within it (category 2). m_* are that record's."""
    return f"""
        WITH y AS ({PREVIOUS_YEAR}),
        u AS (
            {_unlinked_records("p", closed=False)}
            UNION ALL
            {_unlinked_records("c", matchable=True)}
        ),
        r AS (
            SELECT u.*, {_best_match(CURRENT_FIRST_CONTINUING_FIRST)} FROM u
        ),
        p AS (
            SELECT r.*,
                   CASE WHEN r.match_side <> 'c' THEN 0 WHEN m.comdate < %(period_start)s THEN 1 ELSE 2 END AS category,
                   m.id AS m_id, m.husid AS m_husid, m.numhus AS m_numhus, m.ptitle AS m_ptitle,
                   m.comdate AS m_comdate, m.line AS m_line
            FROM r
            LEFT JOIN sr_instance m ON r.match_side = 'c' AND m.id = r.match_id
            WHERE r.side = 'p'
        )
    """


@rule(
    code="HIN7g",
    title="Live HIN of last year has no record; matched by BIRTHDTE/POSTCODE/QUALAIM",
    severity=Severity.ERROR,
    stage=LINKING,
    other_record=True,
)
def hin7g_live_hin_matched(ctx):
    """Report C, check 7g. A HIN that was live last year (on last year's HIN target list) has no
    record this year, but an incoming record without a HIN link matches it on BIRTHDTE, POSTCODE
    and QUALAIM. Category 1: that record's COMDATE is before the reporting period; category 2: it
    is within the period. Reported on last year's record; restore its HUSID/NUMHUS on the incoming
    record, or return the right data for both."""
    sql = f"""
        {_live_hins_and_their_best_match()}
        SELECT p.id, p.student_id, p.line, p.husid, p.numhus,
               'category ' || CAST(p.category AS VARCHAR),
               'HUSID ' || p.m_husid || ' NUMHUS ' || p.m_numhus,
               'HUSID ' || p.husid || ' NUMHUS ' || p.numhus || ' (' || p.ptitle || ') was live in ' || y.label
               || ' (' || y.ref || ') but no record in this submission has that HIN. Category '
               || CAST(p.category AS VARCHAR) || ': BIRTHDTE, POSTCODE and QUALAIM match incoming HUSID '
               || p.m_husid || ' NUMHUS ' || p.m_numhus || ' (' || p.m_ptitle || ', line '
               || CAST(p.m_line AS VARCHAR) || ', COMDATE ' || CAST(p.m_comdate AS VARCHAR)
               || CASE WHEN p.category = 2 THEN ', within the reporting period' ELSE '' END
               || '). If it is the same programme, ' || {_relink("p", "p", target_prefix="m_")}
               || CASE WHEN p.m_comdate <> p.comdate
                       THEN ', and restore COMDATE ' || CAST(p.comdate AS VARCHAR) ELSE '' END
               || '. If not, return a record for this HIN too: an active one, or a dormant one (MODE 63/64).',
               p.m_id
        FROM p
        CROSS JOIN y
        WHERE p.category > 0
    """
    return sql, _params(ctx)


@rule(
    code="HIN7h",
    title="Live HIN of last year has no record and no match",
    severity=Severity.ERROR,
    stage=LINKING,
    other_record=True,
)
def hin7h_live_hin_missing(ctx):
    """Report C, check 7h. A HIN that was live last year has no record this year and no incoming
    record without a link matches it on BIRTHDTE, POSTCODE and QUALAIM. Restore the HUSID/NUMHUS
    on the record that continues it, or submit the missing record (active, or dormant with MODE
    63/64), reporting any qualification obtained. Reported on last year's record."""
    sql = f"""
        {_live_hins_and_their_best_match()}
        SELECT p.id, p.student_id, p.line, p.husid, p.numhus, 'HIN', p.husid || ' ' || p.numhus,
               'HUSID ' || p.husid || ' NUMHUS ' || p.numhus || ' (' || p.ptitle || ', COMDATE '
               || CAST(p.comdate AS VARCHAR) || ') was live in ' || y.label || ' (' || y.ref
               || ') but no record in this submission has that HIN, and none matches its BIRTHDTE, POSTCODE and '
               || 'QUALAIM. Return a record with HUSID ' || p.husid || ' and NUMHUS ' || p.numhus
               || ': an active one if the student continued, or a dormant one (MODE 63/64) if not; or restore '
               || 'this HUSID and NUMHUS on the record that continues it.',
               CAST(NULL AS BIGINT)
        FROM p
        CROSS JOIN y
        WHERE p.category = 0
    """
    return sql, _params(ctx)


# Report D: check 8. ----------------------------------------------------------------------------


@rule(
    code="HIN8",
    title="Possible link based on BIRTHDTE/POSTCODE/QUALAIM",
    severity=Severity.WARNING,
    stage=LINKING,
    other_record=True,
)
def hin8_possible_link(ctx):
    """Report D, check 8. An incoming record without a HIN link matches, on BIRTHDTE, POSTCODE and
    QUALAIM, a record of last year that was closed off: one instance closed and another opened for
    what looks like the same programme. If they are the same programme, restore the old
    HUSID/NUMHUS. Whatever the incoming COMDATE: one that began before the period is also in
    report B (check 6, category 2), as in the guidance's example 30."""
    sql = f"""
        WITH y AS ({PREVIOUS_YEAR}),
        u AS (
            {_unlinked_records("c")}
            UNION ALL
            {_unlinked_records("p", closed=True, matchable=True)}
        ),
        r AS (SELECT u.*, {_best_match("CASE WHEN side = 'p' THEN 0 ELSE 1 END")} FROM u)
        SELECT c.id, c.student_id, c.line, c.husid, c.numhus, 'HIN', 'HUSID ' || m.husid || ' NUMHUS ' || m.numhus,
               'HUSID ' || c.husid || ' NUMHUS ' || c.numhus || ' (' || c.ptitle || ', COMDATE '
               || CAST(c.comdate AS VARCHAR) || ') links to no record of ' || y.label || ' (' || y.ref
               || '), but BIRTHDTE, POSTCODE and QUALAIM match HUSID ' || m.husid || ' NUMHUS ' || m.numhus
               || ' (' || m.ptitle || ', COMDATE ' || CAST(m.comdate AS VARCHAR) || '), closed off in ' || y.label
               || '. If the student is continuing the same programme, ' || {_relink("c", "m")}
               || ' and restore COMDATE ' || CAST(m.comdate AS VARCHAR)
               || '; if this is a new programme, confirm it.',
               m.id
        FROM r c
        JOIN sr_instance m ON m.id = c.match_id
        CROSS JOIN y
        WHERE c.side = 'c' AND c.match_side = 'p'
    """
    return sql, _params(ctx)
