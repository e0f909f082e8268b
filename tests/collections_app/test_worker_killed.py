"""A worker's pool process killed mid-stage: the broker redelivers the same task at once, and it
re-runs to the same result once the dead run's heartbeat has stopped (tests/collections_app/test_faults.py kills
the whole worker instead, which the broker does not notice: the sweep re-queues that job)."""

import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from collections_app.models import Submission
from collections_app.services import submission_create
from student_record.models import Instance
from student_record.sample_data import write_student_record

from ..factories import CollectionFactory, ProviderFactory, UserFactory
from ..worker_helpers import FAST_HEARTBEAT, RealWorker, flush_broker, sending_to, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_pool_process_killed_mid_schema_stage_is_rerun(require_postgres, require_redis, settings, tmp_path):
    provider = ProviderFactory()
    user = UserFactory(provider=provider)
    collection = CollectionFactory()
    out = io.StringIO()
    write_student_record(out, instances=60_000, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
                         reporting_year=2023, seed=4, defect_rate=0.01)  # fmt: skip
    content = out.getvalue().encode()

    flush_broker(require_redis)
    worker = RealWorker(broker_url=require_redis, media_root=settings.MEDIA_ROOT, log_dir=tmp_path, env=FAST_HEARTBEAT)
    with worker, sending_to(require_redis):
        worker.wait_ready()
        upload = SimpleUploadedFile("big.xml", content, content_type="application/xml")
        submission = submission_create(collection=collection, provider=provider, user=user, uploaded_file=upload)
        row = Submission.objects.filter(pk=submission.pk)
        wait_for(lambda: row.filter(status="processing", stage="schema", progress__gt=5).exists(), 60, "processing")
        first_task = row.get().task_id
        assert worker.kill_pool_children(), "no pool process to kill"
        killed = time.monotonic()
        wait_for(lambda: row.exclude(status__in=["queued", "processing"]).exists(), 120, "the redelivered task")
        took = time.monotonic() - killed
    submission = row.get()
    assert submission.status == "failed", (submission.status, submission.error_message, worker.log_tail())
    assert submission.task_id == first_task  # the same task, redelivered, not a new one
    assert submission.attempts == 2
    assert Instance.objects.filter(submission=submission).count() == 60_000
    assert Submission.objects.count() == 1
    print(f"\npool process killed: verdict {took:.1f} s after the kill")
