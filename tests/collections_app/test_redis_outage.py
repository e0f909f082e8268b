"""Redis stops in the middle of a job: the worker reconnects, the job ends as it would have, and the
next upload is processed by the same worker without anyone restarting it (issue 15, defect 5).

The test owns a redis-server on a port of its own (never the shared one) and a real prefork worker.
The worker runs two pool processes so that one slot is idle and polling Redis while the other
holds the job's unacknowledged message: with Celery 5.7.0 that is exactly when the worker died
("Unrecoverable error: AttributeError 'NoneType' object has no attribute 'hostname'").
"""

import contextlib
import hashlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models

from collections_app.models import RuleFailure, RuleResult, SchemaError, Submission
from collections_app.pipeline.runner import submission_process
from collections_app.services import submission_create
from student_record.models import Instance, Student
from student_record.sample_data import write_student_record

from ..conftest import _service_missing
from ..factories import CollectionFactory, ProviderFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parent.parent.parent
IN_FLIGHT = ("queued", "processing")


@pytest.fixture
def redis_server_binary():
    path = shutil.which("redis-server")
    if path is None:
        _service_missing("needs a redis-server binary on PATH (apt-get install redis-server; CI has it)")
    return path


class OwnRedis:
    """A throwaway redis-server without persistence, like the production one: stopping it loses
    every queued and unacknowledged message."""

    def __init__(self, binary: str, log: Path):
        self.binary = binary
        self.log = log
        with socket.socket() as s:  # a free port, so parallel runs never share a server
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        _wait_for(lambda: _answers(client), 15, "redis-server to answer")

    def stop(self, sig: int) -> None:
        self.process.send_signal(sig)
        self.process.wait(timeout=30)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def _answers(client) -> bool:
    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


def _wait_for(predicate, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    tail = log.read_text()[-4000:] if log else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{tail}")


def _database_url() -> str:
    db = django_settings.DATABASES["default"]
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(broker_url: str, media_root: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_READ_URL", "CELERY_BROKER_WRITE_URL")}
    env.update(DATABASE_URL=_database_url(), CELERY_BROKER_URL=broker_url, MEDIA_ROOT=str(media_root))
    with open(log, "w") as out:
        # The production command line, with the concurrency fixed: the crash needs an idle slot.
        worker = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "-c", "2", "-l", "info"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    _wait_for(lambda: " ready." in log.read_text() or worker.poll() is not None, 60, "the worker to start", log)
    assert worker.poll() is None, log.read_text()[-4000:]
    return worker


@contextlib.contextmanager
def _publishing_to(broker_url: str):
    """Uploads made by the test enqueue on this test's Redis, not on the CELERY_BROKER_URL of the
    environment (which Celery's broker_url prefers). Celery caches its producer pools per app, so
    they are dropped on the way in and out."""
    from portal.celery import app

    saved = (app.conf.get("broker_write_url"), app.conf.task_always_eager)
    app.conf.broker_write_url, app.conf.task_always_eager = broker_url, False
    assert app.conf.broker_write_url == broker_url, "CELERY_BROKER_WRITE_URL is set in the environment"
    app._pool = app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.broker_write_url, app.conf.task_always_eager = saved
        app._pool = app.amqp._producer_pool = None


def _sample(provider, instances: int, seed: int) -> bytes:
    out = io.StringIO()
    write_student_record(out, instances=instances, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
                         reporting_year=2023, seed=seed, defect_rate=0.01)  # fmt: skip
    return out.getvalue().encode()


def _upload(collection, provider, user, content: bytes, name: str) -> Submission:
    upload = SimpleUploadedFile(name, content, content_type="application/xml")
    return submission_create(collection=collection, provider=provider, user=user, uploaded_file=upload)


def _fingerprint(submission: Submission) -> dict:
    """The verdict and every row the pipeline wrote for the submission, digested per table.
    Row ids are part of the rows where the pipeline assigns them; database sequences are not."""
    submission.refresh_from_db()
    found = {
        "verdict": (
            submission.status,
            submission.student_count,
            submission.instance_count,
            submission.error_count,
            submission.warning_count,
            submission.schema_error_count,
        )
    }
    for model in (Student, Instance, RuleResult, RuleFailure, SchemaError):
        sequence_pk = isinstance(model._meta.pk, models.AutoField)  # BigAutoField is one too
        columns = [f.attname for f in model._meta.concrete_fields if not (f.primary_key and sequence_pk)]
        rows = sorted(repr(row) for row in model.objects.filter(submission=submission).values_list(*columns))
        found[model.__name__] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return found


@pytest.mark.parametrize(
    "stop_signal", [signal.SIGKILL, signal.SIGTERM], ids=["redis-killed", "redis-shut-down-cleanly"]
)
def test_worker_survives_redis_stopping_mid_job(
    require_postgres, redis_server_binary, settings, tmp_path, stop_signal
):  # fmt: skip
    settings.CELERY_TASK_ALWAYS_EAGER = False
    provider, other = ProviderFactory(), ProviderFactory()
    user, other_user = UserFactory(provider=provider), UserFactory(provider=other)
    collection = CollectionFactory()
    worker_log = tmp_path / "worker.log"
    server = OwnRedis(redis_server_binary, tmp_path / "redis.log")
    worker = None
    try:
        server.start()
        worker = _start_worker(server.url, settings.MEDIA_ROOT, worker_log)
        with _publishing_to(server.url):
            first = _upload(collection, provider, user, _sample(provider, 30_000, seed=4), "big.xml")

            def mid_job():
                first.refresh_from_db()
                return first.status == "processing" and first.progress > 5

            _wait_for(mid_job, 90, "the job to get going", worker_log)
            server.stop(stop_signal)  # no persistence: the queue and the unacked message are gone
            first.refresh_from_db()
            assert first.status == "processing", "the job ended before Redis stopped: make the file bigger"
            time.sleep(1)
            server.start()  # same port
            back_at = time.monotonic()

            def settled(submission):
                submission.refresh_from_db()
                return submission.status not in IN_FLIGHT

            # The job only needs PostgreSQL, so it finishes while the worker reconnects.
            _wait_for(lambda: settled(first), 180, "the interrupted job to finish", worker_log)
            assert worker.poll() is None, f"the worker exited:\n{worker_log.read_text()[-4000:]}"

            # Another provider's upload, so that it does not supersede the first.
            second = _upload(collection, other, other_user, _sample(other, 300, seed=5), "next.xml")
            _wait_for(lambda: settled(second), 90, "the next upload to be processed", worker_log)
            next_upload_done_in = time.monotonic() - back_at
        assert worker.poll() is None, f"the worker exited:\n{worker_log.read_text()[-4000:]}"
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=30)
        server.close()

    log = worker_log.read_text()
    assert log.count("Connected to redis://") >= 2, log[-4000:]  # it reconnected rather than restarted
    assert second.status == "failed" and second.instance_count == 300, (second.status, second.error_message)
    print(f"next upload processed {next_upload_done_in:.1f} s after Redis came back")

    # The interrupted job ends exactly as an uninterrupted run of the same file does.
    interrupted = _fingerprint(first)
    assert interrupted["verdict"][0] == "failed" and first.instance_count == 30_000, first.error_message
    Submission.objects.filter(pk=first.pk).update(status="queued", task_id="")  # free for any task to claim
    submission_process(submission_id=first.pk, task_id="uninterrupted")
    assert _fingerprint(first) == interrupted
