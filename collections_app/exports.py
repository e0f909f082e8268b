"""The failures and schema-errors CSVs of a submission, streamed through core.csv.csv_response."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from core.csv import csv_response

from .models import RuleFailure, SchemaError, Submission
from .selectors import nulls_as_postgresql

FAILURE_HEADER = ["rule", "severity", "line", "HUSID", "NUMHUS", "FNAMES", "SURNAME", "field", "value", "message"]
SCHEMA_ERROR_HEADER = ["line", "record", "path", "message"]


def submission_filename(submission: Submission, what: str) -> str:
    """Download names say whose data it is: C23051-10007794-submission-12-failures.csv."""
    return f"{submission.collection.reference}-{submission.provider.ukprn}-submission-{submission.pk}-{what}.csv"


def failure_rows(queryset: QuerySet[RuleFailure]) -> Iterator[tuple]:
    """The rows of the failures CSV (FAILURE_HEADER), for the download and the offline kit."""
    return (
        nulls_as_postgresql(queryset)
        .values_list(
            "code",
            "severity",
            "line",
            "husid",
            "numhus",
            "student__fnames",
            "student__surname",
            "field",
            "value",
            "message",
        )
        .iterator(chunk_size=2000)
    )


def failures_csv(queryset: QuerySet[RuleFailure], filename: str) -> StreamingHttpResponse:
    return csv_response(filename, FAILURE_HEADER, failure_rows(queryset))


def schema_error_rows(queryset: QuerySet[SchemaError]) -> Iterator[tuple]:
    return queryset.values_list("line", "record", "path", "message").iterator()


def schema_errors_csv(queryset: QuerySet[SchemaError], filename: str) -> StreamingHttpResponse:
    return csv_response(filename, SCHEMA_ERROR_HEADER, schema_error_rows(queryset))
