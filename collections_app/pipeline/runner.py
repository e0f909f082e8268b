"""Drives one submission through the pipeline: schema -> loading -> rules -> the kind's extra
stages (the Student record's linking and credibility tables) -> verdict. A re-run
(services.submission_rerun: `rerun_from_status` set) keeps the stored records and starts at the
rules; its verdict never un-approves (_finish_rerun). What a kind's file looks like and where its
records go comes from collections_app.kinds; the runner names no kind.

Who may run a job, and the heartbeat that shows it is still running, are in ownership.py: every
write here is conditional on the row still being this task's. Every stage is idempotent: the
same file gives the same rows, ids and failures however often it runs.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from collections_app import kinds
from collections_app.models import (
    COMPLETED,
    RuleResult,
    SchemaError,
    Severity,
    Stage,
    Submission,
    SubmissionStatus,
)
from collections_app.rules.engine import run_rules
from collections_app.signals import submission_completed, submission_rejected, submission_rerun_finished
from core import logs
from core.audit import audit_record
from core.files import local_path

from .load import RowSinks
from .locate import LocatedError
from .ownership import Heartbeat, OwnershipLost, ProgressReporter, claim, lock_owned, owned

logger = logging.getLogger(__name__)


def submission_process(*, submission_id: int, task_id: str) -> None:
    # Every line logged while the job runs carries its submission (and provider, once known).
    with logs.bound(submission_id=submission_id, task_id=task_id or None):
        _process(submission_id, task_id)


def _process(submission_id: int, task_id: str) -> None:
    if not claim(submission_id, task_id):
        logger.info("submission %s: nothing to do for task %s", submission_id, task_id)
        return
    submission = Submission.objects.select_related("collection", "provider").get(pk=submission_id)
    logs.bind(provider=submission.provider.ukprn)
    logger.info("submission %s: processing started (task %s)", submission_id, task_id)
    heartbeat = Heartbeat(submission_id, task_id)
    try:
        with heartbeat:
            _run(submission, ProgressReporter(submission, task_id, heartbeat.lost))
    except OwnershipLost:
        logger.warning("submission %s: task %s lost it to another task; its work is left to that one",
                       submission_id, task_id)  # fmt: skip
    except Exception as exc:
        if heartbeat.lost.is_set():  # its statement was cancelled because the job was taken away
            logger.warning("submission %s: task %s stopped after losing it (%s)", submission_id, task_id, exc)
            return
        logger.exception("submission %s failed in stage %s", submission_id, submission.stage)
        if submission.rerun_from_status:
            # A re-run that stops leaves the submission as it was (an approved one stays approved),
            # with the reason; its records are untouched and it can be re-run again.
            owned(submission_id, task_id).update(
                status=submission.rerun_from_status,
                rerun_from_status="",
                stage=Stage.DONE,
                progress=100,
                error_message=f"Re-run stopped: {type(exc).__name__}: {exc}"[:2000],
                stage_message="The re-run stopped before the end: re-run it again.",
                finished_at=timezone.now(),
            )
            return
        owned(submission_id, task_id).update(
            status=SubmissionStatus.ERROR,
            error_message=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )


def _run(submission: Submission, report: ProgressReporter) -> None:
    kind = kinds.get(submission.collection.kind)
    task_id = report.task_id
    timings: dict[str, float] = {}
    if submission.rerun_from_status:
        _check(submission, kind, report, timings)
        started = time.perf_counter()
        _finish_rerun(submission, task_id, timings)
        timings["verdict"] = time.perf_counter() - started
        Submission.objects.filter(pk=submission.pk, task_id=task_id).update(stage_timings=timings)
        logger.info(
            "submission %s: re-run done in %.1f s (%s)", submission.pk, sum(timings.values()), _timings_text(timings)
        )
        return

    # schema: one streaming pass validates the file and extracts its rows, which are already
    # on their way into the database (uncommitted) while parsing goes on; see load.RowSinks.
    started = time.perf_counter()
    report(Stage.SCHEMA, 0, "Checking the file against the schema")
    workdir = Path(settings.MEDIA_ROOT) / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    sinks = RowSinks(submission_id=submission.pk, tables=kind.tables, workdir=workdir)
    try:
        with local_path(submission.file, workdir=workdir) as path:
            outcome = kind.parse(
                path,
                submission_id=submission.pk,
                streams={table: sinks.stream(table) for table in kind.tables},
                progress=_SchemaProgress(report),
                error_cap=settings.SCHEMA_ERROR_CAP,
            )
        sinks.finish_writing()
        if outcome.ok:
            outcome.errors.extend(kind.check_header(submission, outcome))
            outcome.total_error_count = len(outcome.errors)
        timings["schema"] = time.perf_counter() - started
        if outcome.errors:
            sinks.abort()
            _reject(submission, task_id, outcome.errors, outcome.total_error_count, timings)
            return

        started = time.perf_counter()
        report(Stage.LOADING, 0, f"Storing {outcome.records:,} {kind.record_noun}")
        sinks.commit()
        if not owned(submission.pk, task_id).update(**outcome.submission_fields):
            raise OwnershipLost
        timings["loading"] = time.perf_counter() - started
    finally:
        sinks.abort()  # nothing left to throw away once committed

    messages = _check(submission, kind, report, timings)
    started = time.perf_counter()
    _finish(submission, kind, task_id, messages, timings)
    timings["verdict"] = time.perf_counter() - started
    Submission.objects.filter(pk=submission.pk, task_id=task_id).update(stage_timings=timings)
    logger.info("submission %s: done in %.1f s (%s)", submission.pk, sum(timings.values()), _timings_text(timings))


def _check(submission: Submission, kind: kinds.RecordKind, report: ProgressReporter, timings) -> str:
    """The rules and the kind's later stages on the stored records; the stages' sentences."""
    started = time.perf_counter()
    report(Stage.RULES, 0, "Running quality rules")
    run_rules(submission, stage="rules", progress=report.for_stage(Stage.RULES))
    timings["rules"] = time.perf_counter() - started

    # Stages other apps add for this kind (the Student record's linking and credibility tables).
    messages = []
    for extra in kinds.stages_for(kind.kind):
        started = time.perf_counter()
        report(extra.stage, 0, Stage(extra.stage).label)
        messages.append(extra.run(submission=submission, progress=report.for_stage(extra.stage)))
        timings[extra.stage] = time.perf_counter() - started
    report.check()
    return " ".join(m for m in messages if m)


def _timings_text(timings: dict[str, float]) -> str:
    return ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in timings.items())


class _SchemaProgress:
    """The schema stage's progress: the share of the file read, and how many records so far and
    how fast ("Checking and storing: 12,000 students read, 4,100 students/s")."""

    def __init__(self, report: ProgressReporter):
        self.report = report
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int, records: tuple[int, str] | None = None) -> None:
        message = ""
        if records and records[0]:
            count, name = records
            rate = count / max(time.perf_counter() - self.started, 1e-3)
            message = f"Checking and storing: {count:,} {name} read, {rate:,.0f} {name}/s"
        self.report(Stage.SCHEMA, done / total if total else 1.0, message)


def _reject(submission: Submission, task_id: str, errors: list[LocatedError], total: int, timings) -> None:
    with transaction.atomic():
        lock_owned(submission, task_id)
        SchemaError.objects.filter(submission=submission).delete()
        SchemaError.objects.bulk_create(
            SchemaError(submission=submission, line=e.line, path=e.path[:300], record=e.record[:100], message=e.message)
            for e in errors
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
        submission_rejected.send(sender=Submission, submission=submission)
    logger.info("submission %s: rejected, %s schema errors (%s)", submission.pk, total, _timings_text(timings))


def _failure_totals(submission: Submission) -> tuple[int, int]:
    """(errors, warnings): the failures of every rule the submission ran, from their results."""
    totals = {
        row["severity"]: row["n"]
        for row in RuleResult.objects.filter(submission=submission).values("severity").annotate(n=Sum("failure_count"))
    }
    return totals.get(Severity.ERROR, 0), totals.get(Severity.WARNING, 0)


def _newer_upload_done(submission: Submission) -> bool:
    """Whether a newer upload of the same provider and collection already has its verdict: then
    this one, finishing later, is out of date (superseded). Called with the row locked."""
    return Submission.objects.filter(
        provider=submission.provider_id,
        collection=submission.collection_id,
        pk__gt=submission.pk,
        status__in=[*COMPLETED, SubmissionStatus.APPROVED],
    ).exists()


def _counts_text(errors: int, warnings: int) -> str:
    """The stage message's counts, singular for one: "0 errors, 1 warning"."""
    return f"{errors:,} error{'' if errors == 1 else 's'}, {warnings:,} warning{'' if warnings == 1 else 's'}"


def _finish(submission: Submission, kind: kinds.RecordKind, task_id: str, stages_message: str, timings) -> None:
    errors, warnings = _failure_totals(submission)
    if submission.records_archived_at is not None:
        _finish_reload(submission, task_id, errors, warnings)
        return
    previous = (
        Submission.objects.filter(
            provider=submission.provider_id,
            collection=submission.collection_id,
            pk__lt=submission.pk,
            status__in=[*COMPLETED, SubmissionStatus.APPROVED, SubmissionStatus.SUPERSEDED],
            records_archived_at__isnull=True,  # retention removed its rows: nothing to compare with
        )
        .order_by("-pk")
        .first()
    )
    changes = (None, None, None)
    if previous and kind.changes_since:
        changes = kind.changes_since(previous.pk, submission.pk)
    verdict = SubmissionStatus.FAILED if errors else SubmissionStatus.PASSED
    with transaction.atomic():
        lock_owned(submission, task_id)
        newer_done = _newer_upload_done(submission)
        # An upload that finishes after a newer one is already out of date.
        status = SubmissionStatus.SUPERSEDED if newer_done else verdict
        message = f"{'Failed' if errors else 'Passed'}: {_counts_text(errors, warnings)}."
        if stages_message:
            message += " " + stages_message
        now = timezone.now()
        Submission.objects.filter(pk=submission.pk).update(
            status=status,
            superseded_at=now if status == SubmissionStatus.SUPERSEDED else None,
            stage=Stage.DONE,
            progress=100,
            error_count=errors,
            warning_count=warnings,
            previous_submission=previous,
            records_added=changes[0],
            records_removed=changes[1],
            records_changed=changes[2],
            stage_message=message[:300],
            finished_at=now,
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
            ).update(status=SubmissionStatus.SUPERSEDED, superseded_at=now)
            submission_completed.send(sender=Submission, submission=submission)
    logger.info("submission %s: verdict %s: %s", submission.pk, status, message)


def _finish_rerun(submission: Submission, task_id: str, timings) -> None:
    """The verdict of a re-run. The records did not change, so neither do the counts of records
    added, removed and changed, nor which upload is current: a submission that was failed or passed
    takes the new verdict (superseded if a newer upload completed meanwhile); an approved one stays
    approved, and `approved_no_longer_passes` says whether it would still pass (errors here; review
    adds warnings over tolerance on submission_rerun_finished)."""
    errors, warnings = _failure_totals(submission)
    verdict = SubmissionStatus.FAILED if errors else SubmissionStatus.PASSED
    was = submission.rerun_from_status
    with transaction.atomic():
        lock_owned(submission, task_id)
        if was == SubmissionStatus.APPROVED:
            status = SubmissionStatus.APPROVED
        else:
            newer_done = _newer_upload_done(submission)
            status = SubmissionStatus.SUPERSEDED if newer_done else verdict
        message = f"Re-run: {'failed' if errors else 'passed'}: {_counts_text(errors, warnings)}."
        if was == SubmissionStatus.APPROVED and errors:
            message += " Approved data no longer passes."
        Submission.objects.filter(pk=submission.pk).update(
            status=status,
            # Superseded since it was first replaced: a re-run of a superseded upload keeps that time.
            superseded_at=Coalesce(F("superseded_at"), timezone.now())
            if status == SubmissionStatus.SUPERSEDED
            else None,
            rerun_from_status="",
            stage=Stage.DONE,
            progress=100,
            error_count=errors,
            warning_count=warnings,
            approved_no_longer_passes=was == SubmissionStatus.APPROVED and bool(errors),
            stage_message=message[:300],
            finished_at=timezone.now(),
        )
        audit_record(
            actor=None,
            action="submission.rerun_finished",
            summary=f"Submission {submission.pk} re-run: {message} (was {was}, now {status}).",
            submission=submission,
            details={"errors": errors, "warnings": warnings, "verdict": verdict, "was": was, "status": status},
        )
        submission.status, submission.error_count, submission.warning_count = status, errors, warnings
        submission_rerun_finished.send(sender=Submission, submission=submission, was=was, verdict=verdict)


def _finish_reload(submission: Submission, task_id: str, errors: int, warnings: int) -> None:
    """A re-load of a superseded submission whose rows retention removed: its rows are back, and
    nothing else changes (still superseded; no comparison, notification or sign-off reopening)."""
    with transaction.atomic():
        lock_owned(submission, task_id)
        Submission.objects.filter(pk=submission.pk).update(
            status=SubmissionStatus.SUPERSEDED,
            stage=Stage.DONE,
            progress=100,
            error_count=errors,
            warning_count=warnings,
            stage_message=f"Re-loaded: {_counts_text(errors, warnings)}."[:300],
            finished_at=timezone.now(),
            records_archived_at=None,
        )
        audit_record(
            actor=None,
            action="submission.reloaded",
            summary=f"Submission {submission.pk} re-loaded from its file: its records and failures are back.",
            submission=submission,
            details={"errors": errors, "warnings": warnings},
        )
