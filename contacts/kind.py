"""Graduate Outcomes contact details registered as a record kind (see collections_app.kinds)."""

from __future__ import annotations

from django.db import connection

from collections_app import kinds
from collections_app.models import CollectionKind
from collections_app.pipeline.locate import LocatedError
from collections_app.pipeline.parsing import ParseOutcome

from .parse import DETAIL_COLUMNS, GRADUATE_COLUMNS, ROOT_TAG, parse_contact_details
from .selectors import graduate_names, graduates_named

GRADUATE_TABLE, DETAIL_TABLE = "go_graduate", "go_detail"


def parse(path, *, submission_id: int, streams, progress, error_cap: int) -> ParseOutcome:
    return parse_contact_details(
        path,
        submission_id=submission_id,
        graduates_out=streams[GRADUATE_TABLE],
        details_out=streams[DETAIL_TABLE],
        progress=progress,
        error_cap=error_cap,
    )


def check_header(submission, outcome: ParseOutcome) -> list[LocatedError]:
    """A file for another collection (cohort) or another provider is the wrong file: reject it."""
    return kinds.header_mismatches(submission, outcome, envelope=f"/{ROOT_TAG}/Provider")


def changes_since(previous_id: int, current_id: int) -> tuple[int, int, int]:
    """Graduates added, removed and changed by HUSID + NUMHUS; changed means GRADSTATUS differs
    or the set of normalised details does (a detail added, removed or replaced)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT COUNT(*) FROM go_graduate c WHERE c.submission_id = %(current)s AND NOT EXISTS (
                 SELECT 1 FROM go_graduate p
                 WHERE p.submission_id = %(previous)s AND p.husid = c.husid AND p.numhus = c.numhus)),
              (SELECT COUNT(*) FROM go_graduate p WHERE p.submission_id = %(previous)s AND NOT EXISTS (
                 SELECT 1 FROM go_graduate c
                 WHERE c.submission_id = %(current)s AND c.husid = p.husid AND c.numhus = p.numhus)),
              (SELECT COUNT(*) FROM go_graduate c
                 JOIN go_graduate p ON p.submission_id = %(previous)s AND p.husid = c.husid AND p.numhus = c.numhus
                 WHERE c.submission_id = %(current)s AND (
                   c.gradstatus <> p.gradstatus
                   OR EXISTS (SELECT 1 FROM go_detail cd WHERE cd.graduate_id = c.id AND NOT EXISTS (
                        SELECT 1 FROM go_detail pd WHERE pd.graduate_id = p.id AND pd.normalised = cd.normalised))
                   OR EXISTS (SELECT 1 FROM go_detail pd WHERE pd.graduate_id = p.id AND NOT EXISTS (
                        SELECT 1 FROM go_detail cd WHERE cd.graduate_id = c.id AND cd.normalised = pd.normalised))))
            """,
            {"current": current_id, "previous": previous_id},
        )
        added, removed, changed = cursor.fetchone()
    return added, removed, changed


CONTACT_DETAILS = kinds.register(
    kinds.RecordKind(
        kind=CollectionKind.CONTACT_DETAILS,
        label="Graduate Outcomes contact details",
        tables={GRADUATE_TABLE: GRADUATE_COLUMNS, DETAIL_TABLE: DETAIL_COLUMNS},
        parse=parse,
        record_noun="graduates",
        check_header=check_header,
        changes_since=changes_since,
        names=graduate_names,
        name_search=graduates_named,
    )
)
