"""The failures and schema-errors CSVs of a submission, streamed through core.csv.csv_response,
and `settled_csv`: a CSV of a finished run's rows, written to a file once and then served from it."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse

from core.csv import csv_kept_response, csv_response

from . import kinds
from .models import RuleFailure, SchemaError, Submission
from .selectors import failures_for, nulls_as_postgresql, settled_run

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


def failures_csv(*, submission: Submission, filters: dict, filename: str) -> StreamingHttpResponse | FileResponse:
    """The failures chosen by `filters` (selectors.failures_for's). Kept as a file per rule, severity
    and order for a finished run; a search as typed, or a record kind that names failures from other
    data (contact details: from the population, which can change), is read afresh each time."""
    queryset = failures_for(submission=submission, **filters)
    kind = kinds.find(submission.collection.kind)
    if filters.get("search") or (kind is not None and kind.names is not None):
        return csv_response(filename, FAILURE_HEADER, failure_rows(queryset, submission=submission))
    chosen = hashlib.sha256(repr(sorted(filters.items())).encode()).hexdigest()[:16]
    return settled_csv(
        submission=submission,
        name=f"failures-{chosen}",
        filename=filename,
        header=FAILURE_HEADER,
        rows=lambda: failure_rows(queryset, submission=submission),
    )


def schema_error_rows(queryset: QuerySet[SchemaError]) -> Iterator[tuple]:
    return queryset.values_list("line", "record", "path", "message").iterator()


def schema_errors_csv(queryset: QuerySet[SchemaError], filename: str) -> StreamingHttpResponse:
    return csv_response(filename, SCHEMA_ERROR_HEADER, schema_error_rows(queryset))


# Kept CSVs -------------------------------------------------------------------------------------
# A finished run's rows never change until a re-run (which finishes at another time) or retention
# (which marks the records archived), so a list such as the HIN Target List is the same bytes at
# every download. Each web host keeps such files under EXPORT_CACHE_DIR/submission-<id>/, named by
# the run; they hold personal data, so they go with the run's rows: at retention, when a download
# finds the rows archived, and at the latest EXPORT_CACHE_HOURS after they were written (a host
# that never sees the other two still removes them, when it next writes one).


def settled_csv(
    *, submission: Submission, name: str, filename: str, header: list[str], rows: Callable[[], Iterable[Iterable]]
) -> StreamingHttpResponse | FileResponse:
    """The CSV of `rows()`, from the kept file of the submission's run (written at the first
    download) when the run is complete and its rows are stored, else streamed as it is read."""
    run = settled_run(submission) if submission.is_complete else None
    if run is None or submission.records_archived_at is not None:
        settled_csvs_discard(submission_id=submission.pk)
        return csv_response(filename, header, rows())
    run = run.replace(":", "-")
    folder = _folder(submission.pk)
    path = folder / f"{run}-{name}.csv"
    if not _fresh(path):
        _sweep(folder=folder, run=run)
    return csv_kept_response(path, filename, header, rows)


def settled_csvs_discard(*, submission_id: int) -> None:
    """Remove this host's kept CSVs of a submission (its rows were archived, or it runs again)."""
    shutil.rmtree(_folder(submission_id), ignore_errors=True)


def _folder(submission_id: int) -> Path:
    return Path(settings.EXPORT_CACHE_DIR) / f"submission-{submission_id}"


def _fresh(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime < settings.EXPORT_CACHE_HOURS * 3600
    except OSError:  # not there (or no folder to be in)
        return False


def _sweep(*, folder: Path, run: str) -> None:
    """Before a file is written: remove the other runs' files in its folder, and every kept file
    past its age, left-over parts of cut-off downloads included (a part of this age is no
    download still running)."""
    oldest = time.time() - settings.EXPORT_CACHE_HOURS * 3600
    for kept in Path(settings.EXPORT_CACHE_DIR).glob("submission-*/*"):
        other_run = kept.parent == folder and not kept.name.startswith((run, "."))
        with contextlib.suppress(OSError):  # another request's sweep got there first
            if other_run or kept.stat().st_mtime < oldest:
                kept.unlink()
