"""Drives one submission through the pipeline: schema -> loading -> rules -> linking -> verdict.

Work is claimed with a conditional UPDATE: a queued submission goes to the first task that
asks (so a submission whose task was sent twice runs once), and a processing one only to the
same task again once its heartbeat has stopped (a redelivery after its worker died). While the
job runs, a thread of its own writes `heartbeat_at` (Heartbeat), and services.submissions_sweep
gives a job whose heartbeat stopped to a new task. A run that no longer owns its row (its
task_id was replaced) stops: every write it makes is conditional on the row still being its
own, so a worker that comes back late changes nothing. Every stage is idempotent: the same
file gives the same rows, ids and failures however often it runs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import F, Q, Sum
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


LOST_TOO_OFTEN = (
    "Processing stopped {attempts} times without finishing (the worker running it was lost each time). "
    "Retry to run it again; if it stops again, contact Liaison."
)


class OwnershipLost(Exception):
    """This run's task no longer owns the submission (the sweep gave it to another): stop, write nothing."""


def _owned(submission_id: int, task_id: str):
    return Submission.objects.filter(pk=submission_id, status=SubmissionStatus.PROCESSING, task_id=task_id)


class Heartbeat:
    """Writes `heartbeat_at` every PIPELINE_HEARTBEAT_INTERVAL seconds from a thread and a
    database connection of its own while the job runs, whatever the job is doing: a long single
    SQL statement or a slow stage still looks alive, and only a dead worker goes silent.

    If the row is no longer this task's (the sweep re-queued it), `lost` is set and the job's
    running statement is cancelled; the job stops at its next step (see ProgressReporter).
    """

    def __init__(self, submission_id: int, task_id: str, *, interval: float | None = None):
        self.submission_id, self.task_id = submission_id, task_id
        self.interval = interval if interval is not None else settings.PIPELINE_HEARTBEAT_INTERVAL
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._job_connection = connections[DEFAULT_DB_ALIAS]  # the job thread's, to cancel its statement
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        # A second connection cannot see the row inside a caller's uncommitted transaction (tests,
        # or a command run in one); nothing can take such a job away anyway.
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{self.submission_id}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    # Only the task id: a finished job's last beat is harmless, a replaced one is lost.
                    mine = Submission.objects.filter(pk=self.submission_id, task_id=self.task_id).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError:
                    # The database is unreachable: so is it for the job. Try again next beat.
                    logger.warning("submission %s: heartbeat not written", self.submission_id, exc_info=True)
                    connection.close()
                    continue
                if not mine:
                    logger.warning(
                        "submission %s: task %s no longer owns it; stopping", self.submission_id, self.task_id
                    )
                    self.lost.set()
                    self._cancel_job_statement()
                    return
        finally:
            connection.close()

    def _cancel_job_statement(self) -> None:
        raw = self._job_connection.connection
        if raw is not None and self._job_connection.vendor == "postgresql":
            with contextlib.suppress(Exception):  # nothing running, or the connection is gone
                raw.cancel()


class ProgressReporter:
    """Writes the stage and percentage to the submission row, only when the figure moves; stops
    the job (OwnershipLost) once the row is no longer its task's."""

    def __init__(self, submission: Submission, task_id: str = "", lost: threading.Event | None = None):
        self.submission_id = submission.pk
        self.task_id = task_id
        self.lost = lost or threading.Event()
        self.last = (None, -1)

    def check(self) -> None:
        if self.lost.is_set():
            raise OwnershipLost

    def __call__(self, stage: str, fraction: float, message: str = "") -> None:
        self.check()
        low, high = STAGE_SPAN[stage]
        percent = int(low + (high - low) * min(max(fraction, 0.0), 1.0))
        if (stage, percent) == self.last:
            return
        self.last = (stage, percent)
        fields = {"stage": stage, "progress": percent, "heartbeat_at": timezone.now()}
        if message:
            fields["stage_message"] = message
        if not _owned(self.submission_id, self.task_id).update(**fields):
            self.lost.set()
            raise OwnershipLost

    def for_stage(self, stage: str):
        return lambda done, total: self(stage, done / total if total else 1.0)


def _started(task_id: str) -> dict:
    now = timezone.now()
    return {
        "status": SubmissionStatus.PROCESSING,
        "task_id": task_id,
        "stage": Stage.SCHEMA,
        "progress": 0,
        "error_message": "",
        "started_at": now,
        "heartbeat_at": now,
        "finished_at": None,
        "attempts": F("attempts") + 1,
    }


def claim(submission_id: int, task_id: str) -> bool:
    """Take the job, unless it is finished, or running under another task, or still running under this one."""
    # A queued row goes to the first task that asks, unless the sweep queued it for a task of its
    # own (after a worker was lost): then the lost run's task, redelivered late, may not have it.
    waiting = Q(task_id="") | Q(task_id=task_id)
    if Submission.objects.filter(waiting, pk=submission_id, status=SubmissionStatus.QUEUED).update(**_started(task_id)):
        return True
    # The same task again: either its worker died (a killed pool process makes the broker redeliver
    # at once) or the broker's visibility timeout passed while the job still runs. Only a silent
    # heartbeat tells them apart.
    row = _owned(submission_id, task_id).values("heartbeat_at", "attempts").first()
    if row is None:
        return False
    if not _heartbeat_stops(submission_id, task_id, row["heartbeat_at"]):
        logger.info("submission %s: task %s is still running elsewhere; not running it twice", submission_id, task_id)
        return False
    # Conditional on the heartbeat read: of two redeliveries, or a redelivery and the sweep, one wins.
    silent = _owned(submission_id, task_id).filter(heartbeat_at=row["heartbeat_at"])
    if row["attempts"] >= settings.PIPELINE_MAX_ATTEMPTS:
        silent.update(
            status=SubmissionStatus.ERROR,
            error_message=LOST_TOO_OFTEN.format(attempts=row["attempts"]),
            finished_at=timezone.now(),
        )
        return False
    return bool(silent.update(**_started(task_id)))


def _heartbeat_stops(submission_id: int, task_id: str, last_beat) -> bool:
    """Whether nobody writes the heartbeat any more: it stays as it is for two intervals after
    the last beat (a wait only when that beat is recent)."""
    window = 2 * settings.PIPELINE_HEARTBEAT_INTERVAL
    since = (timezone.now() - last_beat).total_seconds() if last_beat else window
    deadline = time.monotonic() + min(max(window - since, 0.0), window)
    while True:
        beats = list(_owned(submission_id, task_id).values_list("heartbeat_at", flat=True)[:1])
        if beats != [last_beat]:
            return False  # it beat again, or the row moved on
        if time.monotonic() >= deadline:
            return True
        time.sleep(min(0.5, settings.PIPELINE_HEARTBEAT_INTERVAL / 4, max(deadline - time.monotonic(), 0.0)))


def submission_process(*, submission_id: int, task_id: str) -> None:
    if not claim(submission_id, task_id):
        logger.info("submission %s: nothing to do for task %s", submission_id, task_id)
        return
    submission = Submission.objects.select_related("collection", "provider").get(pk=submission_id)
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
        _owned(submission_id, task_id).update(
            status=SubmissionStatus.ERROR,
            error_message=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )


def _lock_owned(submission: Submission, task_id: str) -> None:
    """Inside a transaction: hold the row for the final write, or stop if it is not this task's.
    The sweep re-queues with a conditional UPDATE of the same row, so one of them waits for the other."""
    if not list(_owned(submission.pk, task_id).select_for_update().values_list("pk", flat=True)):
        raise OwnershipLost


def _run(submission: Submission, report: ProgressReporter) -> None:
    task_id = report.task_id
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
        outcome = parse_student_record(
            submission.file.path,
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
            _reject(submission, task_id, outcome.errors, outcome.total_error_count, timings)
            return

        started = time.perf_counter()
        report(Stage.LOADING, 0, f"Storing {outcome.instances:,} instances")
        sinks.commit()
        stored = _owned(submission.pk, task_id).update(
            student_count=outcome.students,
            instance_count=outcome.instances,
            file_recid=outcome.header.get("RECID", ""),
            file_instid=outcome.header.get("INSTID", ""),
            file_ukprn=outcome.header.get("UKPRN", ""),
        )
        if not stored:
            raise OwnershipLost
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

    report.check()
    started = time.perf_counter()
    _finish(submission, task_id, linking_message, timings)
    timings["verdict"] = time.perf_counter() - started
    Submission.objects.filter(pk=submission.pk, task_id=task_id).update(stage_timings=timings)


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


def _reject(submission: Submission, task_id: str, errors: list[LocatedError], total: int, timings) -> None:
    with transaction.atomic():
        _lock_owned(submission, task_id)
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


def _finish(submission: Submission, task_id: str, linking_message: str, timings) -> None:
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
        _lock_owned(submission, task_id)
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
