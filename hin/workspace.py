"""The linking stage's workspace: what every HIN check shares, built once per linking run.

Before the checks, `linking_workspace` (registered as the stage's setup, so the rules engine
enters it around the checks) joins this year's records with last year's once and keeps:

- hin_link (permanent): each incoming record's link, by HIN or none; the checks' suggested
  matches are added afterwards by hin.services.links_add_suggestions;
- hin_pair (temporary): every linked pair with the fields report A compares, c_* this year's and
  p_* last year's;
- hin_unlinked (temporary): every record of either year without a HIN link (side 'c' or 'p').

Each of the 16 checks used to repeat the same 100,000 x 100,000 join (0.2-0.45 s each at that
size); reading these costs a few milliseconds a check. The temporary tables are private to the
database connection, so concurrent workers cannot see each other's, and they die with it.
"""

import logging
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from collections_app.models import CollectionKind
from collections_app.rules.registry import stage_setup

from .models import HinLink, LinkKind

logger = logging.getLogger(__name__)

LINKING = "linking"


def closed_off(alias: str) -> str:
    """SQL truth value: the record's HIN was closed off (it need not be returned next year)."""
    return (
        f"(({alias}.rsnleave <> '' AND {alias}.dateleft IS NOT NULL) OR {alias}.notact <> '' "
        f"OR {alias}.mode IN ('63', '64'))"
    )


PAIR_FIELDS = {  # column -> (current side, previous side)
    "qualaim": ("c.qualaim", "p.qualaim"),
    "comdate": ("c.comdate", "p.comdate"),
    "qualent2": ("c.qualent2", "p.qualent2"),
    "postcode": ("c.postcode", "p.postcode"),
    "domicile": ("c.domicile", "p.domicile"),
    "yrllinst": ("c.yrllinst", "p.yrllinst"),
    "totalts": ("c.totalts", "p.totalts"),
    "ethnic": ("cs.ethnic", "ps.ethnic"),
    "ucasnum": ("cs.ucasnum", "ps.ucasnum"),
    "birthdte": ("cs.birthdte", "ps.birthdte"),
    "gender": ("cs.gender", "ps.gender"),
    "surname": ("cs.surname", "ps.surname"),
}
UNLINKED_COLUMNS = "side, id, student_id, line, husid, numhus, ptitle, comdate, birthdte, postcode, qualaim, closed"


def _unlinked_side(side: str, *, records: str, other: str) -> str:
    """Records of the submission in named parameter `records` whose HIN is absent from the
    submission in named parameter `other`."""
    return f"""
        SELECT '{side}' AS side, i.id, i.student_id, i.line, i.husid, i.numhus, i.ptitle, i.comdate, s.birthdte,
               i.postcode, i.qualaim, CASE WHEN {closed_off("i")} THEN 1 ELSE 0 END AS closed
        FROM sr_instance i
        JOIN sr_student s ON s.id = i.student_id
        WHERE i.submission_id = %({records})s
          AND NOT EXISTS (
              SELECT 1 FROM sr_instance l
              WHERE l.submission_id = %({other})s AND l.husid = i.husid AND l.numhus = i.numhus
          )
    """


def _drop_linking_tables(cursor) -> None:
    cursor.execute("DROP TABLE IF EXISTS hin_pair")
    cursor.execute("DROP TABLE IF EXISTS hin_unlinked")


@stage_setup(stage=LINKING, record_kind=CollectionKind.STUDENT_RECORD)
@contextmanager
def linking_workspace(ctx):
    """Store the HIN links and build hin_pair and hin_unlinked (see the module docstring) for
    the checks; drop the temporary tables after them, whatever happened."""
    pair_columns = ", ".join(f"{c} AS c_{name}, {p} AS p_{name}" for name, (c, p) in PAIR_FIELDS.items())
    params = {
        "previous": ctx.previous_submission_id,
        "current": ctx.submission_id,
        "by_hin": LinkKind.HIN,
        "no_link": LinkKind.NONE,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL work_mem = %s", [settings.RULES_WORK_MEM])
        _drop_linking_tables(cursor)  # left over on this connection by an interrupted run
        cursor.execute(
            f"""
            CREATE TEMP TABLE hin_pair AS
            SELECT c.id, c.student_id, c.line, c.husid, c.numhus, p.id AS p_id, {pair_columns}
            FROM sr_instance c
            JOIN sr_instance p ON p.submission_id = %(previous)s AND p.husid = c.husid AND p.numhus = c.numhus
            JOIN sr_student cs ON cs.id = c.student_id
            JOIN sr_student ps ON ps.id = p.student_id
            WHERE c.submission_id = %(current)s
            """,
            params,
        )
        current_side = _unlinked_side("c", records="current", other="previous")
        previous_side = _unlinked_side("p", records="previous", other="current")
        cursor.execute(f"CREATE TEMP TABLE hin_unlinked AS {current_side} UNION ALL {previous_side}", params)
        # Deleting first in the same transaction makes a re-run store each link once.
        HinLink.objects.filter(submission_id=ctx.submission_id).delete()
        cursor.execute(
            """
            INSERT INTO hin_link (submission_id, current_instance_id, previous_instance_id, kind)
            SELECT %(current)s, id, p_id, %(by_hin)s FROM hin_pair
            UNION ALL
            SELECT %(current)s, id, NULL, %(no_link)s FROM hin_unlinked WHERE side = 'c'
            """,
            params,
        )
        if connection.vendor == "postgresql":
            # Autovacuum never analyzes temporary tables. The checks only scan hin_pair, so it
            # needs no statistics; hin_unlinked's few grouping columns are enough (a full
            # ANALYZE of both took 0.9 s at 100k, a third of the stage).
            cursor.execute("ANALYZE hin_unlinked (side, closed, birthdte, postcode, qualaim)")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                _drop_linking_tables(cursor)
        except DatabaseError:  # the connection is broken; its temp tables die with it
            logger.warning("could not drop the linking tables", exc_info=True)
