"""The Student record registered as a record kind (see collections_app.kinds)."""

from __future__ import annotations

from django.db import connection

from collections_app import kinds
from collections_app.models import CollectionKind
from collections_app.pipeline.locate import LocatedError
from collections_app.pipeline.parsing import ParseOutcome

from .parse import INSTANCE_COLUMNS, STUDENT_COLUMNS, parse_student_record

STUDENT_TABLE, INSTANCE_TABLE = "sr_student", "sr_instance"


def parse(path, *, submission_id: int, streams, progress, error_cap: int) -> ParseOutcome:
    return parse_student_record(
        path,
        submission_id=submission_id,
        students_out=streams[STUDENT_TABLE],
        instances_out=streams[INSTANCE_TABLE],
        progress=progress,
        error_cap=error_cap,
    )


def check_header(submission, outcome: ParseOutcome) -> list[LocatedError]:
    """A file for another collection or another provider is the wrong file: reject it."""
    return kinds.header_mismatches(submission, outcome, envelope="/StudentRecord/Institution")


# Every stored field except ids and line numbers: "changed" means any of these differs.
_INSTANCE_FIELDS = INSTANCE_COLUMNS[6:]
_STUDENT_FIELDS = STUDENT_COLUMNS[4:]


def changes_since(previous_id: int, current_id: int) -> tuple[int, int, int]:
    """Records added, removed and changed (any field) by HIN, compared in the database."""
    differs = " OR ".join(
        [f"c.{f} IS DISTINCT FROM p.{f}" for f in _INSTANCE_FIELDS]
        + [f"cs.{f} IS DISTINCT FROM ps.{f}" for f in _STUDENT_FIELDS]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT
              (SELECT COUNT(*) FROM sr_instance c WHERE c.submission_id = %(current)s AND NOT EXISTS (
                 SELECT 1 FROM sr_instance p
                 WHERE p.submission_id = %(previous)s AND p.husid = c.husid AND p.numhus = c.numhus)),
              (SELECT COUNT(*) FROM sr_instance p WHERE p.submission_id = %(previous)s AND NOT EXISTS (
                 SELECT 1 FROM sr_instance c
                 WHERE c.submission_id = %(current)s AND c.husid = p.husid AND c.numhus = p.numhus)),
              (SELECT COUNT(*) FROM sr_instance c
                 JOIN sr_student cs ON cs.id = c.student_id
                 JOIN sr_instance p ON p.submission_id = %(previous)s AND p.husid = c.husid AND p.numhus = c.numhus
                 JOIN sr_student ps ON ps.id = p.student_id
                 WHERE c.submission_id = %(current)s AND ({differs}))
            """,
            {"current": current_id, "previous": previous_id},
        )
        added, removed, changed = cursor.fetchone()
    return added, removed, changed


STUDENT_RECORD = kinds.register(
    kinds.RecordKind(
        kind=CollectionKind.STUDENT_RECORD,
        label="Student record",
        tables={STUDENT_TABLE: STUDENT_COLUMNS, INSTANCE_TABLE: INSTANCE_COLUMNS},
        parse=parse,
        record_noun="instances",
        check_header=check_header,
        changes_since=changes_since,
    )
)
