"""Who runs a submission's job, and for how long: the claim, the heartbeat and progress writes.

Work is claimed with a conditional UPDATE: a queued submission goes to the first task that
asks (so a submission whose task was sent twice runs once), and a processing one only to the
same task again once its heartbeat has stopped (a redelivery after its worker died). While the
job runs, a thread of its own writes `heartbeat_at` (Heartbeat), and services.submissions_sweep
gives a job whose heartbeat stopped to a new task. A run that no longer owns its row (its
task_id was replaced) stops: every write it makes is conditional on the row still being its
own, so a worker that comes back late changes nothing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.db.models import F, Q
from django.utils import timezone

from collections_app.models import Stage, Submission, SubmissionStatus

logger = logging.getLogger(__name__)

# Share of the progress bar each stage fills, in order.
STAGE_SPAN = {
    Stage.SCHEMA: (0, 55),
    Stage.LOADING: (55, 75),
    Stage.RULES: (75, 90),
    Stage.LINKING: (90, 96),
    Stage.CREDIBILITY: (96, 99),
}


LOST_TOO_OFTEN = (
    "Processing stopped {attempts} times without finishing (the worker running it was lost each time). "
    "Retry to run it again; if it stops again, contact Liaison."
)


def given_up(attempts: int, rerun_from_status: str, now) -> dict:
    """The fields of a job lost PIPELINE_MAX_ATTEMPTS times: an upload ends in error (to retry);
    a re-run goes back to the status it had (an approved submission stays approved)."""
    if rerun_from_status:
        return {
            "status": rerun_from_status,
            "rerun_from_status": "",
            "stage": Stage.DONE,
            "progress": 100,
            "error_message": "Re-run stopped: " + LOST_TOO_OFTEN.format(attempts=attempts),
            "stage_message": "The re-run stopped before the end: re-run it again.",
            "finished_at": now,
        }
    return {
        "status": SubmissionStatus.ERROR,
        "error_message": LOST_TOO_OFTEN.format(attempts=attempts),
        "finished_at": now,
    }


class OwnershipLost(Exception):
    """This run's task no longer owns the submission (the sweep gave it to another): stop, write nothing."""


def owned(submission_id: int, task_id: str):
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
        if not owned(self.submission_id, self.task_id).update(**fields):
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
    row = owned(submission_id, task_id).values("heartbeat_at", "attempts", "rerun_from_status").first()
    if row is None:
        return False
    if not _heartbeat_stops(submission_id, task_id, row["heartbeat_at"]):
        logger.info("submission %s: task %s is still running elsewhere; not running it twice", submission_id, task_id)
        return False
    # Conditional on the heartbeat read: of two redeliveries, or a redelivery and the sweep, one wins.
    silent = owned(submission_id, task_id).filter(heartbeat_at=row["heartbeat_at"])
    if row["attempts"] >= settings.PIPELINE_MAX_ATTEMPTS:
        silent.update(**given_up(row["attempts"], row["rerun_from_status"], timezone.now()))
        return False
    return bool(silent.update(**_started(task_id)))


def _heartbeat_stops(submission_id: int, task_id: str, last_beat) -> bool:
    """Whether nobody writes the heartbeat any more: it stays as it is for two intervals after
    the last beat (a wait only when that beat is recent)."""
    window = 2 * settings.PIPELINE_HEARTBEAT_INTERVAL
    since = (timezone.now() - last_beat).total_seconds() if last_beat else window
    deadline = time.monotonic() + min(max(window - since, 0.0), window)
    while True:
        beats = list(owned(submission_id, task_id).values_list("heartbeat_at", flat=True)[:1])
        if beats != [last_beat]:
            return False  # it beat again, or the row moved on
        if time.monotonic() >= deadline:
            return True
        time.sleep(min(0.5, settings.PIPELINE_HEARTBEAT_INTERVAL / 4, max(deadline - time.monotonic(), 0.0)))


def lock_owned(submission: Submission, task_id: str) -> None:
    """Inside a transaction: hold the row for the final write, or stop if it is not this task's.
    The sweep re-queues with a conditional UPDATE of the same row, so one of them waits for the other."""
    if not list(owned(submission.pk, task_id).select_for_update().values_list("pk", flat=True)):
        raise OwnershipLost
