"""The failures and schema-errors CSVs of a submission, streamed through core.csv.csv_response."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from core.csv import csv_response

from . import kinds
from .models import RuleFailure, SchemaError, Submission
from .selectors import nulls_as_postgresql

FAILURE_HEADER = ["rule", "severity", "line", "HUSID", "NUMHUS", "FNAMES", "SURNAME", "field", "value", "message"]
SCHEMA_ERROR_HEADER = ["line", "record", "path", "message"]
# Rows fetched from the server-side cursor at a time: converting them holds the GIL (see
# core.csv.CHUNK_ROWS on why a download keeps that short).
CHUNK = 500


def submission_filename(submission: Submission, what: str) -> str:
    """Download names say whose data it is: C23051-10007794-submission-12-failures.csv."""
    return f"{submission.collection.reference}-{submission.provider.ukprn}-submission-{submission.pk}-{what}.csv"


def failure_rows(queryset: QuerySet[RuleFailure], *, submission: Submission | None = None) -> Iterator[tuple]:
    """The rows of the failures CSV (FAILURE_HEADER), for the download and the offline kit. With the
    `submission`, a failure without a student row is named by its record kind where it can be
    (contact details: the graduate's name from the population), a chunk of rows at a time."""
    rows = (
        nulls_as_postgresql(queryset)
        .values_list(
            "code",
            "severity",
            "line",
            "husid",
            "numhus",
            "fnames",
            "surname",
            "field",
            "value",
            "message",
        )
        .iterator(chunk_size=CHUNK)
    )
    kind = kinds.find(submission.collection.kind) if submission is not None else None
    names = kind.names if kind else None
    if names is None:
        return rows
    return _named(rows, lambda keys: names(submission, keys))


def _named(rows: Iterator[tuple], names) -> Iterator[tuple]:
    """`rows` with FNAMES and SURNAME (columns 5 and 6) filled in from `names` where they are empty."""
    while chunk := list(islice(rows, CHUNK)):
        wanted = {(row[3], row[4]) for row in chunk if row[5] is None and row[3]}
        found = names(wanted) if wanted else {}
        for row in chunk:
            name = found.get((row[3], row[4])) if row[5] is None else None
            yield (*row[:5], *name, *row[7:]) if name else row


def failures_csv(queryset: QuerySet[RuleFailure], filename: str, *, submission: Submission) -> StreamingHttpResponse:
    return csv_response(filename, FAILURE_HEADER, failure_rows(queryset, submission=submission))


def schema_error_rows(queryset: QuerySet[SchemaError]) -> Iterator[tuple]:
    return queryset.values_list("line", "record", "path", "message").iterator()


def schema_errors_csv(queryset: QuerySet[SchemaError], filename: str) -> StreamingHttpResponse:
    return csv_response(filename, SCHEMA_ERROR_HEADER, schema_error_rows(queryset))
