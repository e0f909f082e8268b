"""CSV downloads of the HIN reports and the HIN Target List, streamed in chunks."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse

from collections_app.exports import settled_csv
from collections_app.models import RuleFailure, Submission
from core.csv import csv_response
from student_record.models import Instance

from .selectors import RECORD_FIELDS, HinFinding, HinRecord, hin_findings_resolve, hin_target_list

# Rows fetched from the server-side cursor at a time: converting them holds the GIL (see
# core.csv.CHUNK_ROWS on why a download keeps that short).
CHUNK = 500
SIDE_FIELDS = ("HUSID", "INSTID", "NUMHUS", "line", "status", *RECORD_FIELDS)
HIN_REPORT_HEADER = [
    "report",
    "check",
    "category",
    "severity",
    "confirmed",
    "confirmation reason",
    "message",
    *(f"this year {f}" for f in SIDE_FIELDS),
    *(f"last year {f}" for f in SIDE_FIELDS),
]
TARGET_LIST_HEADER = ["line", "HUSID", "NUMHUS", "OWNSTU", "FNAMES", "SURNAME", "BIRTHDTE", "PTITLE", "QUALAIM",
                      "COMDATE", "MODE"]  # fmt: skip


def _side(record: HinRecord | None) -> list:
    if record is None:
        return [""] * len(SIDE_FIELDS)
    return [record.husid, record.instid, record.numhus, record.line, record.status, *record.values.values()]


def _finding_row(finding: HinFinding) -> list:
    confirmation = finding.confirmation
    return [
        finding.report,
        finding.check,
        finding.category,
        finding.failure.severity,
        "yes" if confirmation else "",
        confirmation.reason if confirmation else "",
        finding.failure.message,
        *_side(finding.current),
        *_side(finding.previous),
    ]


def _chunks(queryset: QuerySet[RuleFailure]) -> Iterator[list[RuleFailure]]:
    """The ordered queryset in chunks read from one cursor, so each chunk resolves in two queries."""
    chunk: list[RuleFailure] = []
    for failure in queryset.iterator(chunk_size=CHUNK):
        chunk.append(failure)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def hin_report_rows(*, submission: Submission, failures: QuerySet[RuleFailure]) -> Iterator[list]:
    for chunk in _chunks(failures):
        for finding in hin_findings_resolve(submission=submission, failures=chunk):
            yield _finding_row(finding)


def hin_report_csv(*, submission: Submission, failures: QuerySet[RuleFailure], filename: str) -> StreamingHttpResponse:
    return csv_response(filename, HIN_REPORT_HEADER, hin_report_rows(submission=submission, failures=failures))


def hin_target_list_rows(queryset: QuerySet[Instance]) -> Iterator[tuple]:
    """The rows of the HIN Target List CSV (TARGET_LIST_HEADER), for the download and the offline kit."""
    return queryset.values_list(
        "line", "husid", "numhus", "student__ownstu", "fnames", "surname", "birthdte", "ptitle", "qualaim", "comdate",
        "mode",
    ).iterator(chunk_size=CHUNK)  # fmt: skip


def hin_target_list_csv(*, submission: Submission, filename: str) -> StreamingHttpResponse | FileResponse:
    """The whole Target List: the same for every download of a finished run, so kept as a file."""
    return settled_csv(
        submission=submission,
        name="hin-target-list",
        filename=filename,
        header=TARGET_LIST_HEADER,
        rows=lambda: hin_target_list_rows(hin_target_list(submission=submission)),
    )
