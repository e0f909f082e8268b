"""A worker process killed mid-stage: the task is redelivered and re-run to the same result."""

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile

from collections_app.models import Submission
from collections_app.services import submission_create
from student_record.models import Instance
from student_record.sample_data import write_student_record

from .factories import CollectionFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    db = django_settings.DATABASES["default"]
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout  # noqa: S603,S607
    return [int(p) for p in out.split()]


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_pool_process_killed_mid_schema_stage_is_rerun(require_postgres, require_redis, settings, tmp_path):
    from portal.celery import app

    provider = ProviderFactory()
    user = UserFactory(provider=provider)
    collection = CollectionFactory()
    out = io.StringIO()
    write_student_record(out, instances=60_000, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
                         reporting_year=2023, seed=4, defect_rate=0.01)  # fmt: skip
    content = out.getvalue().encode()

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.control.purge()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": require_redis,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-P",
            "prefork",
            "-c",
            "1",
            "-l",
            "info",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ],  # fmt: skip
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(lambda: _children(worker.pid), 30, "the worker's pool process")
        upload = SimpleUploadedFile("big.xml", content, content_type="application/xml")
        submission = submission_create(collection=collection, provider=provider, user=user, uploaded_file=upload)

        def in_schema_stage():
            submission.refresh_from_db()
            return submission.status == "processing" and submission.stage == "schema" and submission.progress > 5

        _wait_for(in_schema_stage, 60, "processing to start")
        first_task = submission.task_id
        for child in _children(worker.pid):
            os.kill(child, signal.SIGKILL)  # the pool process dies mid-stage

        def finished():
            submission.refresh_from_db()
            return submission.status not in ("queued", "processing")

        _wait_for(finished, 120, "the redelivered task to finish")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
    assert submission.status == "failed", (
        submission.status,
        submission.error_message,
        (tmp_path / "worker.log").read_text()[-3000:],
    )
    assert submission.task_id == first_task  # the same task, redelivered, not a new one
    assert Instance.objects.filter(submission=submission).count() == 60_000
    assert Submission.objects.count() == 1
