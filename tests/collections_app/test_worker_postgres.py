"""The production shape: PostgreSQL COPY loading in parallel, and a real Celery worker on Redis."""

import io
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from collections_app.models import RuleFailure, Submission
from collections_app.pipeline.runner import submission_process
from collections_app.services import submission_create
from student_record.models import Instance, Student
from student_record.sample_data import write_student_record

from ..factories import CollectionFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def sample(provider, instances=300, defect_rate=0.05) -> bytes:
    out = io.StringIO()
    write_student_record(
        out, instances=instances, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
        reporting_year=2023, seed=9, defect_rate=defect_rate,
    )  # fmt: skip
    return out.getvalue().encode()


@pytest.fixture
def setup_rows(require_postgres):
    provider = ProviderFactory()
    user = UserFactory(provider=provider)
    collection = CollectionFactory()
    return provider, user, collection


def test_parallel_copy_load_outside_a_transaction(setup_rows, settings):
    provider, user, collection = setup_rows
    settings.CELERY_TASK_ALWAYS_EAGER = False  # queue nothing: this test drives the runner itself
    submission = Submission.objects.create(
        provider=provider, collection=collection, uploaded_by=user, original_name="r.xml", sha256="0" * 64, size=1
    )
    submission.file.save("r.xml", SimpleUploadedFile("r.xml", sample(provider)), save=True)
    submission_process(submission_id=submission.pk, task_id="pg")
    submission.refresh_from_db()
    assert submission.status == "failed", submission.error_message
    assert Instance.objects.filter(submission=submission).count() == submission.instance_count == 300
    stored = Student.objects.filter(submission=submission).count()
    # Running the whole job again (a redelivery after its worker died) leaves exactly the same rows.
    Submission.objects.filter(pk=submission.pk).update(
        status="processing", heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    failures = RuleFailure.objects.filter(submission=submission).count()
    submission_process(submission_id=submission.pk, task_id="pg")
    assert Student.objects.filter(submission=submission).count() == stored
    assert Instance.objects.filter(submission=submission).count() == 300
    assert RuleFailure.objects.filter(submission=submission).count() == failures


def test_streaming_copy_of_an_invalid_file_is_rolled_back(setup_rows):
    provider, user, collection = setup_rows
    content = sample(provider).replace(b"<GENDER>M</GENDER>", b"<GENDER>Q</GENDER>", 1)
    submission = Submission.objects.create(
        provider=provider, collection=collection, uploaded_by=user, original_name="r.xml", sha256="0" * 64, size=1
    )
    submission.file.save("r.xml", SimpleUploadedFile("r.xml", content), save=True)
    submission_process(submission_id=submission.pk, task_id="pg")
    submission.refresh_from_db()
    assert submission.status == "rejected"
    # Rows were streaming into COPY while the file was parsed: none of them may remain.
    assert Student.objects.filter(submission=submission).count() == 0
    assert Instance.objects.filter(submission=submission).count() == 0


def test_real_worker_processes_an_upload(setup_rows, require_redis, settings):
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_prerun

    from portal.celery import app

    provider, user, collection = setup_rows
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.broker_url = require_redis
    hosts = []

    def record_host(sender=None, task=None, **kwargs):
        hosts.append(task.request.hostname)

    task_prerun.connect(record_host, weak=False)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        upload = SimpleUploadedFile("record.xml", sample(provider), content_type="application/xml")
        submission = submission_create(collection=collection, provider=provider, user=user, uploaded_file=upload)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            submission.refresh_from_db()
            if not submission.is_in_flight:
                break
            time.sleep(0.2)
    assert submission.status == "failed", (submission.status, submission.error_message)
    task_prerun.disconnect(record_host)
    assert hosts and hosts[0], "the task did not run on a worker"  # eager runs have no hostname
    assert submission.progress == 100
    assert Instance.objects.filter(submission=submission).count() == 300
