"""Lost tasks and lost workers, at the service layer (issue 15, defects 3 and 4).

A broker outage during an upload: the upload is accepted and its task is sent by the sweep
once the broker is back. A worker that stops beating: the sweep gives its job to a new task,
and the old task can write nothing more. Each runs on SQLite or PostgreSQL with the pipeline
run in-process (eager) once "the broker is back"; tests/collections_app/test_faults.py does the same with a
real worker on Redis and PostgreSQL.
"""

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from collections_app.models import Stage, Submission
from collections_app.pipeline.ownership import OwnershipLost, ProgressReporter, claim
from collections_app.pipeline.runner import submission_process
from collections_app.services import (
    submission_is_retryable,
    submission_retry,
    submissions_sweep,
)
from core.errors import ActionRefused
from portal.celery import app

from ..factories import SubmissionFactory
from ..worker_helpers import closed_port_url, sending_to
from ..xmlbuild import instance, student, student_record

RECORD = student_record(student(instance(), instance(NUMHUS="2", QUALAIM="02")))


def queued_submission(provider, user, collection, *, queued_ago=timedelta(0), **fields) -> Submission:
    return SubmissionFactory(
        provider=provider, uploaded_by=user, collection=collection, file=ContentFile(RECORD, name="r.xml"),
        size=len(RECORD), queued_at=timezone.now() - queued_ago, **fields,
    )  # fmt: skip


def broker_down():
    """Sends go to a port nothing listens on, failing at once (short timeout, no retries)."""
    return sending_to(closed_port_url(), connect_timeout=0.5, retry=False)


def verdicts(submission) -> int:
    return AuditEvent.objects.filter(
        submission=submission, action__in=["submission.passed", "submission.failed"]
    ).count()


# -- defect 3: an upload while the broker is down ------------------------------------------------


@pytest.mark.django_db(transaction=True)  # on_commit runs inside the request, as in production
def test_web_upload_during_a_broker_outage_is_accepted_and_processed_once_the_broker_is_back(
    client, provider, provider_user, collection
):
    client.force_login(provider_user)
    with broker_down():
        response = client.post(
            reverse("collection_upload", args=[collection.reference]),
            {"file": SimpleUploadedFile("r.xml", RECORD, content_type="application/xml")},
        )
    submission = Submission.objects.get()
    assert response.status_code == 302 and response.url == reverse("submission_detail", args=[submission.pk])
    assert (submission.status, submission.task_sent_at) == ("queued", None)
    assert AuditEvent.objects.filter(submission=submission, action="submission.uploaded").exists()

    # The broker is back (tasks run in-process): the sweep sends the task once the row is a minute old.
    assert app.conf.task_always_eager
    assert submissions_sweep() == {"requeued": 0, "errored": 0, "sent": 0}
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert submissions_sweep()["sent"] == 1
    submission.refresh_from_db()
    assert submission.status == "passed", submission.error_message
    assert submission.instance_count == 2 and verdicts(submission) == 1


@pytest.mark.django_db(transaction=True)
def test_api_upload_during_a_broker_outage_answers_202_and_is_processed_once_the_broker_is_back(
    provider, provider_user, collection
):
    api = APIClient()
    api.force_login(provider_user)
    with broker_down():
        response = api.post(
            f"/api/v1/collections/{collection.reference}/submissions/",
            {"file": SimpleUploadedFile("r.xml", RECORD, content_type="application/xml")},
        )
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission.task_sent_at is None

    with broker_down(), time_machine.travel(timezone.now() + timedelta(minutes=2)):
        # Still down at the next sweep: nothing lost, nothing raised, still queued.
        assert submissions_sweep()["sent"] == 0
    submission.refresh_from_db()
    assert (submission.status, submission.task_sent_at) == ("queued", None)

    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert submissions_sweep()["sent"] == 1
    assert api.get(f"/api/v1/submissions/{submission.pk}/").json()["status"] == "passed"


def test_a_stale_queued_submission_can_be_retried_by_its_provider(
    client, provider, provider_user, collection, django_capture_on_commit_callbacks
):
    fresh = queued_submission(provider, provider_user, collection)
    stale = queued_submission(provider, provider_user, collection, queued_ago=timedelta(minutes=5), attempts=2)
    assert not submission_is_retryable(submission=fresh) and submission_is_retryable(submission=stale)
    with pytest.raises(ActionRefused) as refused:
        submission_retry(submission=fresh, user=provider_user)
    assert refused.value.code == "not_retryable" and "a minute" in refused.value.message

    client.force_login(provider_user)
    assert b"Retry processing" in client.get(reverse("submission_detail", args=[stale.pk])).content
    assert b"Retry processing" not in client.get(reverse("submission_detail", args=[fresh.pk])).content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("submission_retry", args=[stale.pk]))
    assert response.status_code == 302
    stale.refresh_from_db()
    assert stale.status == "passed" and stale.attempts == 1  # counted afresh from the retry


def test_a_queued_submission_sent_twice_runs_once(provider, provider_user, collection):
    submission = queued_submission(provider, provider_user, collection)
    submission_process(submission_id=submission.pk, task_id="first")
    submission.refresh_from_db()
    finished = submission.finished_at
    assert submission.status == "passed" and submission.task_id == "first"
    submission_process(submission_id=submission.pk, task_id="second")  # the sweep's copy, arriving late
    submission.refresh_from_db()
    assert submission.task_id == "first" and submission.finished_at == finished and verdicts(submission) == 1

    running = queued_submission(provider, provider_user, collection)
    assert claim(running.pk, "a")
    assert not claim(running.pk, "b")  # a second copy while the first runs elsewhere


def test_a_queued_task_sent_but_never_started_is_sent_again_after_resend_after(
    settings, provider, provider_user, collection
):
    settings.PIPELINE_RESEND_AFTER = 300
    now = timezone.now()
    submission = queued_submission(
        provider, provider_user, collection, queued_ago=timedelta(minutes=2), task_sent_at=now - timedelta(minutes=2)
    )
    assert submissions_sweep(now=now)["sent"] == 0  # sent two minutes ago: the queue may just be long
    with time_machine.travel(now + timedelta(minutes=4)):
        assert submissions_sweep()["sent"] == 1  # the broker lost it (a Redis restart without persistence)
    submission.refresh_from_db()
    assert submission.status == "passed"


# -- defect 4: a worker lost mid-job -----------------------------------------------------------


def test_the_sweep_requeues_a_job_whose_heartbeat_stopped_and_the_old_task_is_refused(
    settings, provider, provider_user, collection
):
    settings.PIPELINE_HEARTBEAT_TIMEOUT = 90
    beat = timezone.now()
    lost = queued_submission(
        provider, provider_user, collection, status="processing", stage="rules", task_id="old", heartbeat_at=beat,
        attempts=1,
    )  # fmt: skip
    with time_machine.travel(beat + timedelta(seconds=89)):
        assert submissions_sweep() == {"requeued": 0, "errored": 0, "sent": 0}
    with broker_down(), time_machine.travel(beat + timedelta(seconds=91)):
        assert submissions_sweep()["requeued"] == 1
        assert submissions_sweep()["requeued"] == 0  # a second sweep finds nothing to take
    lost.refresh_from_db()
    assert (lost.status, lost.stage, lost.progress) == ("queued", "queued", 0)
    assert lost.task_id not in ("", "old") and lost.task_sent_at is None
    new_task = lost.task_id

    # The old worker comes back: its progress and its claim are refused, nothing is written.
    report = ProgressReporter(lost, "old")
    with pytest.raises(OwnershipLost):
        report(Stage.LINKING, 0.5)
    assert not claim(lost.pk, "old")
    lost.refresh_from_db()
    assert (lost.status, lost.stage, lost.task_id) == ("queued", "queued", new_task)

    # Its own task (sent by the sweep once the broker is back) runs it, as the second attempt.
    submission_process(submission_id=lost.pk, task_id=new_task)
    lost.refresh_from_db()
    assert (lost.status, lost.task_id, lost.attempts) == ("passed", new_task, 2)


def test_after_three_lost_runs_the_job_ends_in_error_for_the_provider_to_retry(
    settings, provider, provider_user, collection, django_capture_on_commit_callbacks
):
    settings.PIPELINE_MAX_ATTEMPTS = 3
    beat = timezone.now() - timedelta(minutes=5)
    lost = queued_submission(
        provider, provider_user, collection, status="processing", task_id="third", heartbeat_at=beat, attempts=3
    )
    assert submissions_sweep() == {"requeued": 0, "errored": 1, "sent": 0}
    lost.refresh_from_db()
    assert lost.status == "error" and "3 times" in lost.error_message and "Retry" in lost.error_message
    with django_capture_on_commit_callbacks(execute=True):
        submission_retry(submission=lost, user=provider_user)
    lost.refresh_from_db()
    assert (lost.status, lost.attempts) == ("passed", 1)


def test_a_redelivered_task_takes_over_only_a_silent_job_and_counts_the_attempt(
    settings, provider, provider_user, collection
):
    settings.PIPELINE_HEARTBEAT_INTERVAL = 15
    settings.PIPELINE_MAX_ATTEMPTS = 3
    silent = timezone.now() - timedelta(minutes=1)
    job = queued_submission(
        provider, provider_user, collection, status="processing", task_id="t", heartbeat_at=silent, attempts=1
    )
    assert claim(job.pk, "t")  # its pool process died: the broker handed the same task out again
    job.refresh_from_db()
    assert job.attempts == 2 and job.heartbeat_at > silent
    Submission.objects.filter(pk=job.pk).update(heartbeat_at=silent, attempts=3)
    assert not claim(job.pk, "t")  # the third run died too: a file that kills its worker stops here
    job.refresh_from_db()
    assert job.status == "error" and "Retry" in job.error_message


def test_the_sweep_command_and_the_beat_schedule(settings, provider, provider_user, collection):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-submissions"]
    assert entry["task"] in app.tasks and entry["schedule"] == settings.PIPELINE_SWEEP_INTERVAL == 60
    assert (settings.PIPELINE_HEARTBEAT_INTERVAL, settings.PIPELINE_HEARTBEAT_TIMEOUT) == (15, 90)
    submission = queued_submission(provider, provider_user, collection, queued_ago=timedelta(minutes=2))
    out = io.StringIO()
    call_command("sweep_submissions", stdout=out)
    assert "1 queued submission(s) sent" in out.getvalue()
    submission.refresh_from_db()
    assert submission.status == "passed"
