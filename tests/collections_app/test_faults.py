"""Faults with a real worker on PostgreSQL and Redis (issue 15, standing tests).

The whole worker (main process and pool, its process group) is SIGKILLed while a job is in each
stage: schema, loading, rules and linking. A fresh worker starts, the sweep (here every 0.25 s,
as beat would every minute) sees the job's heartbeat stop and re-queues it, and the job must end
with the verdict and exactly the rows of an uninterrupted run of the same file, within the
redelivery time chosen: PIPELINE_HEARTBEAT_TIMEOUT after the last heartbeat, plus at most one
sweep interval, plus the new worker picking it up. The worker and the sweep run with a 1 s
heartbeat and a 5 s timeout (production: 15 s and 90 s, swept every 60 s: redelivered within
about 90-150 s).

Also: an upload while the broker is down is run by a real worker once the broker is back.
The "Redis killed mid-job" fault lives in tests/collections_app/test_redis_outage.py; both use worker_helpers.
"""

import io
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from collections_app.models import Collection, Submission
from collections_app.pipeline.runner import submission_process
from collections_app.services import submission_create, submission_store, submissions_sweep
from review.services import submission_approve_historical
from student_record.sample_data import SamplePopulation, write_student_record

from ..factories import CollectionFactory, ProviderFactory, UserFactory
from ..worker_helpers import (
    FAST_HEARTBEAT,
    RealWorker,
    closed_port_url,
    differences,
    flush_broker,
    sending_to,
    stored_rows,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

INSTANCES = 24_000  # big enough that each stage lasts long enough to be killed in
STAGES = ("schema", "loading", "rules", "linking")
SWEEP_EVERY = 0.25


@pytest.fixture
def broker(require_postgres, require_redis, settings):
    settings.PIPELINE_HEARTBEAT_INTERVAL = float(FAST_HEARTBEAT["PIPELINE_HEARTBEAT_INTERVAL"])
    settings.PIPELINE_HEARTBEAT_TIMEOUT = float(FAST_HEARTBEAT["PIPELINE_HEARTBEAT_TIMEOUT"])
    flush_broker(require_redis)
    yield require_redis
    flush_broker(require_redis)  # the killed workers' unacknowledged tasks


def two_years(tmp_path):
    """A provider with an approved 2022/23 (loaded as import_history does) and the 2023/24 file
    of the same students, so every stage, linking included, has work to do."""
    provider = ProviderFactory()
    user = UserFactory(provider=provider)
    previous_collection = CollectionFactory(
        reference="C22051", name="Student record 2022/23", reporting_year=2022,
        opens=timezone.now() - timedelta(days=400), approval_deadline=timezone.now() - timedelta(days=300),
    )  # fmt: skip
    collection = CollectionFactory(reference="C23051", previous=previous_collection)
    population = SamplePopulation(2022, 3, INSTANCES, defect_rate=0.0)
    common = {"instid": provider.instid, "ukprn": provider.ukprn}
    previous_year = io.StringIO()
    write_student_record(previous_year, instances=INSTANCES, recid="22051", reporting_year=2022, seed=3, **common)
    previous_file = ContentFile(previous_year.getvalue().encode())
    previous = submission_store(
        provider=provider, collection=previous_collection, user=user, file=previous_file, original_name="2022.xml"
    )
    submission_process(submission_id=previous.pk, task_id="previous-year")
    previous.refresh_from_db()
    submission_approve_historical(submission=previous, user=user)
    current = io.StringIO()
    write_student_record(current, instances=INSTANCES, recid="23051", reporting_year=2023, seed=5, defect_rate=0.01,
                         next_year_of=population, hin_defect_rate=0.01, **common)  # fmt: skip
    return provider, user, collection, current.getvalue().encode()


def test_whole_worker_killed_in_each_stage_is_redelivered_with_the_rows_of_an_uninterrupted_run(
    broker, settings, tmp_path
):
    def start_worker(n: int) -> RealWorker:
        return RealWorker(broker_url=broker, media_root=settings.MEDIA_ROOT, log_dir=tmp_path,
                          name=f"worker-{n}", env=FAST_HEARTBEAT).start()  # fmt: skip

    worker = start_worker(0)  # boots while the two years are prepared
    try:
        provider, user, collection, content = two_years(tmp_path)
        reference = submission_store(provider=provider, collection=collection, user=user,
                                     file=ContentFile(content), original_name="2023.xml")  # fmt: skip
        submission_process(submission_id=reference.pk, task_id="uninterrupted")
        expected = stored_rows(reference)
        assert expected["verdict"][0] == "failed" and expected["instances"] and expected["links"]
        assert any(code.startswith("HIN") for code, _severity, count in expected["results"] if count)

        timings = {}
        with sending_to(broker):
            for n, stage in enumerate(STAGES, start=1):
                worker.wait_ready()
                upload = SimpleUploadedFile(f"{stage}.xml", content, content_type="application/xml")
                submission = submission_create(
                    collection=collection, provider=provider, user=user, uploaded_file=upload
                )
                row = Submission.objects.filter(pk=submission.pk)
                wait_for(lambda: row.filter(status="processing", stage=stage).exists(), 120, f"stage {stage}",  # noqa: B023
                         every=0.01)  # fmt: skip
                worker.kill()
                killed = time.monotonic()
                lost = row.get()
                assert (lost.status, lost.stage) == ("processing", stage), "the kill did not land in the stage"

                worker = start_worker(n)
                wait_for(
                    lambda: submissions_sweep()["requeued"], 60, "the sweep to re-queue the job", every=SWEEP_EVERY
                )
                requeued = time.monotonic()
                wait_for(lambda: row.exclude(status="queued").exists(), 60, "a worker to take the job")  # noqa: B023
                redelivered = time.monotonic()
                wait_for(lambda: row.exclude(status__in=["queued", "processing"]).exists(), 180, "the verdict")  # noqa: B023
                done = time.monotonic()

                rerun = row.get()
                assert rerun.task_id != lost.task_id and rerun.attempts == 2, (rerun.status, rerun.error_message)
                problems = differences(stored_rows(rerun), expected)
                assert not problems, (stage, problems, rerun.error_message, worker.log_tail())
                timings[stage] = (requeued - killed, redelivered - killed, done - killed)
                # Chosen: a job is re-queued one timeout after its last heartbeat (<= 1 interval
                # before the kill) and one sweep, and taken by the fresh worker right away.
                assert requeued - killed <= settings.PIPELINE_HEARTBEAT_TIMEOUT + 2 * SWEEP_EVERY + 1
                assert redelivered - killed <= settings.PIPELINE_HEARTBEAT_TIMEOUT + 10
    finally:
        worker.stop()

    summary = ", ".join(
        f"{stage}: re-queued {r:.1f} s, redelivered {d:.1f} s, verdict {v:.1f} s after the kill"
        for stage, (r, d, v) in timings.items()
    )
    print(f"\nwhole-worker kill ({INSTANCES:,} instances, heartbeat 1 s, timeout 5 s): {summary}")


def test_upload_during_a_broker_outage_is_run_by_a_real_worker_once_the_broker_is_back(broker, settings, tmp_path):
    settings.PIPELINE_QUEUED_TIMEOUT = 1
    provider = ProviderFactory()
    user = UserFactory(provider=provider)
    collection = CollectionFactory()
    out = io.StringIO()
    write_student_record(out, instances=300, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
                         reporting_year=2023, seed=9, defect_rate=0.05)  # fmt: skip
    api = APIClient()
    api.force_login(user)
    with sending_to(closed_port_url(), connect_timeout=0.5, retry=False):
        response = api.post(
            f"/api/v1/collections/{collection.reference}/submissions/",
            {"file": SimpleUploadedFile("r.xml", out.getvalue().encode(), content_type="application/xml")},
        )
    assert response.status_code == 202, response.content
    row = Submission.objects.filter(pk=response.json()["id"])
    assert row.filter(status="queued", task_sent_at__isnull=True).exists()

    with RealWorker(broker_url=broker, media_root=settings.MEDIA_ROOT, log_dir=tmp_path) as worker, sending_to(broker):
        worker.wait_ready()
        assert row.filter(status="queued").exists()  # nothing reached the broker: nothing to run yet
        wait_for(lambda: submissions_sweep()["sent"], 30, "the sweep to send the task", every=SWEEP_EVERY)
        wait_for(lambda: row.exclude(status__in=["queued", "processing"]).exists(), 60, "the verdict")
    submission = row.get()
    assert submission.status == "failed" and submission.instance_count == 300, submission.error_message
    assert Collection.objects.count() == 1
