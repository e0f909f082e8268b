"""Drives one submission through the pipeline: schema -> loading -> rules -> linking -> verdict.

Work is claimed with a conditional UPDATE (queued, or processing under this same task id,
which is what a redelivered task looks like after a worker died), so a duplicate delivery
of a finished job does nothing and a redelivered one re-runs from the start. Every stage is
idempotent: the same file gives the same rows, ids and failures however often it runs.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from audit.services import audit_record
from collections_app.models import (
    COMPLETED,
    CollectionKind,
    RuleResult,
    SchemaError,
    Severity,
    Stage,
    Submission,
    SubmissionStatus,
)
from collections_app.rules.engine import run_rules
from core.files import local_path

from .load import RowSinks
from .locate import LocatedError
from .parse import INSTANCE_COLUMNS, STUDENT_COLUMNS, parse_student_record

logger = logging.getLogger(__name__)

# Share of the progress bar each stage fills, in order.
STAGE_SPAN = {
    Stage.SCHEMA: (0, 55),
    Stage.LOADING: (55, 75),
    Stage.RULES: (75, 92),
    Stage.LINKING: (92, 99),
}


class ProgressReporter:
    """Writes the stage and percentage to the submission row, only when the figure moves."""

    def __init__(self, submission: Submission):
        self.submission_id = submission.pk
        self.last = (None, -1)

    def __call__(self, stage: str, fraction: float, message: str = "") -> None:
        low, high = STAGE_SPAN[stage]
        percent = int(low + (high - low) * min(max(fraction, 0.0), 1.0))
        if (stage, percent) == self.last:
            return
        self.last = (stage, percent)
        fields = {"stage": stage, "progress": percent, "heartbeat_at": timezone.now()}
        if message:
            fields["stage_message"] = message
        Submission.objects.filter(pk=self.submission_id).update(**fields)

    def for_stage(self, stage: str):
        return lambda done, total: self(stage, done / total if total else 1.0)


def claim(submission_id: int, task_id: str) -> bool:
    """Take the job, unless it is finished or another task owns it."""
    return bool(
        Submission.objects.filter(pk=submission_id)
        .filter(Q(status=SubmissionStatus.QUEUED) | Q(status=SubmissionStatus.PROCESSING, task_id=task_id))
        .update(
            status=SubmissionStatus.PROCESSING,
            task_id=task_id,
            stage=Stage.SCHEMA,
            progress=0,
            error_message="",
            started_at=timezone.now(),
            heartbeat_at=timezone.now(),
            finished_at=None,
        )
    )


def submission_process(*, submission_id: int, task_id: str) -> None:
    if not claim(submission_id, task_id):
        logger.info("submission %s: nothing to do for task %s", submission_id, task_id)
        return
    submission = Submission.objects.select_related("collection", "provider").get(pk=submission_id)
    try:
        _run(submission)
    except Exception as exc:
        logger.exception("submission %s failed in stage %s", submission_id, submission.stage)
        Submission.objects.filter(pk=submission_id, task_id=task_id).update(
            status=SubmissionStatus.ERROR,
            error_message=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )


def _run(submission: Submission) -> None:
    report = ProgressReporter(submission)
    timings: dict[str, float] = {}
    if submission.collection.kind != CollectionKind.STUDENT_RECORD:
        raise NotImplementedError("Only Student record files can be processed so far.")

    # schema: one streaming pass validates the file and extracts its rows, which are already
    # on their way into the database (uncommitted) while parsing goes on; see load.RowSinks.
    started = time.perf_counter()
    report(Stage.SCHEMA, 0, "Checking the file against the schema")
    workdir = Path(settings.MEDIA_ROOT) / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    sinks = RowSinks(
        submission_id=submission.pk,
        tables={"sr_student": STUDENT_COLUMNS, "sr_instance": INSTANCE_COLUMNS},
        workdir=workdir,
    )
    try:
        with local_path(submission.file, workdir=workdir) as path:
            outcome = parse_student_record(
                path,
                submission_id=submission.pk,
                students_out=sinks.stream("sr_student"),
                instances_out=sinks.stream("sr_instance"),
                progress=report.for_stage(Stage.SCHEMA),
                error_cap=settings.SCHEMA_ERROR_CAP,
            )
        sinks.finish_writing()
        if outcome.ok:
            outcome.errors.extend(_header_errors(submission, outcome))
            outcome.total_error_count = len(outcome.errors)
        timings["schema"] = time.perf_counter() - started
        if outcome.errors:
            sinks.abort()
            _reject(submission, outcome.errors, outcome.total_error_count, timings)
            return

        started = time.perf_counter()
        report(Stage.LOADING, 0, f"Storing {outcome.instances:,} instances")
        sinks.commit()
        Submission.objects.filter(pk=submission.pk).update(
            student_count=outcome.students,
            instance_count=outcome.instances,
            file_recid=outcome.header.get("RECID", ""),
            file_instid=outcome.header.get("INSTID", ""),
            file_ukprn=outcome.header.get("UKPRN", ""),
        )
        timings["loading"] = time.perf_counter() - started
    finally:
        sinks.abort()  # nothing left to throw away once committed

    started = time.perf_counter()
    report(Stage.RULES, 0, "Running quality rules")
    run_rules(submission, stage="rules", progress=report.for_stage(Stage.RULES))
    timings["rules"] = time.perf_counter() - started

    started = time.perf_counter()
    report(Stage.LINKING, 0, "Linking with the previous year")
    from hin.services import submission_link  # the hin app builds on this one

    linking_message = submission_link(submission=submission, progress=report.for_stage(Stage.LINKING))
    timings["linking"] = time.perf_counter() - started

    started = time.perf_counter()
    _finish(submission, linking_message, timings)
    timings["verdict"] = time.perf_counter() - started
    Submission.objects.filter(pk=submission.pk).update(stage_timings=timings)


def _header_errors(submission: Submission, outcome) -> list[LocatedError]:
    """A file for another collection or another provider is the wrong file: reject it."""
    errors = []
    recid, ukprn = outcome.header.get("RECID"), outcome.header.get("UKPRN")
    if recid and recid != submission.collection.recid:
        errors.append(
            LocatedError(
                line=outcome.header_lines.get("RECID"),
                path="/StudentRecord/Institution/RECID",
                message=f"RECID {recid} is not this collection's ({submission.collection.recid} for "
                f"{submission.collection.reference}). Check you chose the right collection.",
            )
        )
    if ukprn and ukprn != submission.provider.ukprn:
        errors.append(
            LocatedError(
                line=outcome.header_lines.get("UKPRN"),
                path="/StudentRecord/Institution/UKPRN",
                message=f"UKPRN {ukprn} is not {submission.provider.name}'s UKPRN ({submission.provider.ukprn}).",
            )
        )
    return errors


def _reject(submission: Submission, errors: list[LocatedError], total: int, timings) -> None:
    with transaction.atomic():
        SchemaError.objects.filter(submission=submission).delete()
        SchemaError.objects.bulk_create(
            SchemaError(submission=submission, line=e.line, path=e.path[:300], message=e.message) for e in errors
        )
        Submission.objects.filter(pk=submission.pk).update(
            status=SubmissionStatus.REJECTED,
            stage=Stage.DONE,
            progress=100,
            schema_error_count=total,
            stage_message=f"Rejected: {total:,} schema error{'s' if total != 1 else ''}. Nothing was stored.",
            finished_at=timezone.now(),
            stage_timings=timings,
        )
        audit_record(
            actor=None,
            action="submission.rejected",
            summary=f"Submission {submission.pk} rejected: {total:,} schema error{'s' if total != 1 else ''}.",
            submission=submission,
            details={"schema_errors": total},
        )


def _finish(submission: Submission, linking_message: str, timings) -> None:
    totals = {
        row["severity"]: row["n"]
        for row in RuleResult.objects.filter(submission=submission).values("severity").annotate(n=Sum("failure_count"))
    }
    errors, warnings = totals.get(Severity.ERROR, 0), totals.get(Severity.WARNING, 0)
    previous = (
        Submission.objects.filter(
            provider=submission.provider_id,
            collection=submission.collection_id,
            pk__lt=submission.pk,
            status__in=[*COMPLETED, SubmissionStatus.APPROVED, SubmissionStatus.SUPERSEDED],
        )
        .order_by("-pk")
        .first()
    )
    changes = _changes_since(previous.pk, submission.pk) if previous else (None, None, None)
    verdict = SubmissionStatus.FAILED if errors else SubmissionStatus.PASSED
    with transaction.atomic():
        newer_done = Submission.objects.filter(
            provider=submission.provider_id,
            collection=submission.collection_id,
            pk__gt=submission.pk,
            status__in=[*COMPLETED, SubmissionStatus.APPROVED],
        ).exists()
        # An upload that finishes after a newer one is already out of date.
        status = SubmissionStatus.SUPERSEDED if newer_done else verdict
        message = f"{'Failed' if errors else 'Passed'}: {errors:,} errors, {warnings:,} warnings."
        if linking_message:
            message += " " + linking_message
        Submission.objects.filter(pk=submission.pk).update(
            status=status,
            stage=Stage.DONE,
            progress=100,
            error_count=errors,
            warning_count=warnings,
            previous_submission=previous,
            records_added=changes[0],
            records_removed=changes[1],
            records_changed=changes[2],
            stage_message=message[:300],
            finished_at=timezone.now(),
        )
        audit_record(
            actor=None,
            action=f"submission.{status}",
            summary=f"Submission {submission.pk} {status}: {message}",
            submission=submission,
            details={"errors": errors, "warnings": warnings, "verdict": verdict},
        )
        if not newer_done:
            Submission.objects.filter(
                provider=submission.provider_id,
                collection=submission.collection_id,
                pk__lt=submission.pk,
                status__in=COMPLETED,  # never the approved one: it stays the approved data until replaced
            ).update(status=SubmissionStatus.SUPERSEDED)
            from review.services import collection_updated  # review builds on this app

            collection_updated(submission=submission)


# Every stored field except ids and line numbers: "changed" means any of these differs.
_INSTANCE_FIELDS = INSTANCE_COLUMNS[6:]
_STUDENT_FIELDS = STUDENT_COLUMNS[4:]


def _changes_since(previous_id: int, current_id: int) -> tuple[int, int, int]:
    """Records added, removed and changed (any field) by HIN, compared in the database."""
    differs = " OR ".join(
        [f"c.{f} IS DISTINCT FROM p.{f}" for f in _INSTANCE_FIELDS]
        + [f"cs.{f} IS DISTINCT FROM ps.{f}" for f in _STUDENT_FIELDS]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT
              (SELECT COUNT(*) FROM sr_instance c WHERE c.submission_id = %s AND NOT EXISTS (
                 SELECT 1 FROM sr_instance p
                 WHERE p.submission_id = %s AND p.husid = c.husid AND p.numhus = c.numhus)),
              (SELECT COUNT(*) FROM sr_instance p WHERE p.submission_id = %s AND NOT EXISTS (
                 SELECT 1 FROM sr_instance c
                 WHERE c.submission_id = %s AND c.husid = p.husid AND c.numhus = p.numhus)),
              (SELECT COUNT(*) FROM sr_instance c
                 JOIN sr_student cs ON cs.id = c.student_id
                 JOIN sr_instance p ON p.submission_id = %s AND p.husid = c.husid AND p.numhus = c.numhus
                 JOIN sr_student ps ON ps.id = p.student_id
                 WHERE c.submission_id = %s AND ({differs}))
            """,
            [current_id, previous_id, previous_id, current_id, previous_id, current_id],
        )
        added, removed, changed = cursor.fetchone()
    return added, removed, changed
