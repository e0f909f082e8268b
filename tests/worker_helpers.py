"""Real Celery workers (and a broken broker) for the tests that need them.

A worker is a subprocess of its own process group, on the test's database (pytest's test_*
database, over TCP) and the broker the test gives it, so a test can SIGKILL the whole worker
(main process and pool children) as a machine failure would, and start a fresh one.

    with RealWorker(broker_url=require_redis, media_root=settings.MEDIA_ROOT, log_dir=tmp_path) as worker:
        ...
        worker.kill()                 # SIGKILL to the whole process group
    fresh = RealWorker(...).start()   # another one, same settings

The worker reads the pipeline's timing settings from the environment: pass small ones
(`FAST_HEARTBEAT`) so a test waits seconds, not minutes, for a lost job to be noticed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
_UNSET = object()

# Heartbeat every second, a job silent for 5 s is lost: the worker's and the test's settings.
FAST_HEARTBEAT = {"PIPELINE_HEARTBEAT_INTERVAL": "1", "PIPELINE_HEARTBEAT_TIMEOUT": "5"}


def wait_for(predicate: Callable[[], T], timeout: float, what: str, *, every: float = 0.05) -> T:
    """Poll until `predicate()` is truthy and return its value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def database_url() -> str:
    """The database the test runs on (pytest's test_<name> database), for a subprocess."""
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout  # noqa: S603,S607
    return [int(p) for p in out.split()]


def flush_broker(url: str) -> None:
    """Empty the test's own Redis database: queued tasks, and the unacknowledged ones a killed
    worker leaves behind (Redis would hand them out again after the visibility timeout, to some
    later test whose submission ids are the same numbers)."""
    import redis

    redis.Redis.from_url(url).flushdb()


class RealWorker:
    """A `celery worker` subprocess in a process group of its own."""

    def __init__(
        self,
        *,
        broker_url: str,
        media_root,
        log_dir: Path,
        name: str = "worker",
        concurrency: int = 1,
        env: dict[str, str] | None = None,
    ):
        self.broker_url, self.media_root, self.concurrency = broker_url, str(media_root), concurrency
        self.log_path = Path(log_dir) / f"{name}.log"
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> RealWorker:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": self.broker_url,
            "MEDIA_ROOT": self.media_root,
            **self.extra_env,
        }
        self._log = open(self.log_path, "a")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603
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
                str(self.concurrency),
                "-l",
                "info",
                "-n",
                f"{self.log_path.stem}@%h",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() takes the pool with it
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def is_ready(self) -> bool:
        """Consuming from the broker ("celery@... ready." in its log)."""
        return self.log_path.exists() and " ready." in self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> RealWorker:
        wait_for(lambda: self.is_ready() or self.process.poll() is not None, timeout, "the worker to start")
        if self.process.poll() is not None:
            raise AssertionError(f"the worker exited ({self.process.returncode}):\n{self.log_tail()}")
        return self

    def kill(self) -> None:
        """SIGKILL the whole worker, main process and pool children, as a lost machine would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def kill_pool_children(self) -> list[int]:
        killed = children(self.pid)
        for child in killed:
            os.kill(child, signal.SIGKILL)
        return killed

    def stop(self) -> None:
        """Warm shutdown; SIGKILL if it does not go within 30 s. Safe to call twice."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process:  # pool children left behind by a killed main process
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        if self._log:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else "(no log)"

    def __enter__(self) -> RealWorker:
        if self.process is None:
            self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _reset_producer_pools(app) -> None:
    """Drop every cached broker connection: the next send connects to conf.broker_url."""
    from kombu import pools

    pools.reset()  # closes kombu's per-URL connection and producer pools and forgets them
    app._pool = None
    app.amqp._producer_pool = None
    app.amqp.__dict__.pop("send_task_message", None)  # a cached property that read task_publish_retry


@contextlib.contextmanager
def sending_to(
    url: str, *, connect_timeout: float | None = None, retry: bool | None = None, transport_options: dict | None = None
):
    """Tasks sent from this process go to the broker at `url` (not run eagerly) until the block
    ends. `connect_timeout` and `retry=False` make a send to a dead broker fail fast;
    `transport_options` are the broker's (the filesystem transport's folders)."""
    from portal.celery import app

    changes = {"broker_write_url": url, "task_always_eager": False}
    if transport_options is not None:
        changes["broker_transport_options"] = transport_options
    if connect_timeout is not None:
        changes["broker_connection_timeout"] = connect_timeout
    if retry is not None:
        changes["task_publish_retry"] = retry
    saved = {key: app.conf.get(key) for key in changes}
    # Celery (5.6) reads a key from the Django settings it was configured from (CELERY_ prefix)
    # before its own conf, and tests/conftest.py sets CELERY_TASK_ALWAYS_EAGER there: change both.
    django_keys = {f"CELERY_{key.upper()}": value for key, value in changes.items()}
    django_saved = {key: getattr(settings, key, _UNSET) for key in django_keys}
    _reset_producer_pools(app)
    # Senders connect to broker_write_url; broker_url would lose to the CELERY_BROKER_URL variable.
    app.conf.update(changes)
    for key, value in django_keys.items():
        setattr(settings, key, value)
    try:
        yield app
    finally:
        _reset_producer_pools(app)
        app.conf.update(saved)
        for key, value in django_saved.items():
            if value is _UNSET:
                delattr(settings, key)
            else:
                setattr(settings, key, value)


def closed_port_url(db: int = 3) -> str:
    """A Redis URL nothing listens on: a broker that is down."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/{db}"


def stored_rows(submission) -> dict[str, list]:
    """Everything the pipeline stored for a submission, comparable between two submissions of the
    same file: ids of the submission's own records become ("own", position in the file) (ids
    are submission * 10^7 + position, pipeline/ids.py); ids of other submissions' records (the
    previous year's) stay as they are. Two runs with equal results stored the same rows, each
    exactly once."""
    from collections_app.models import RuleFailure, RuleResult, SchemaError, Submission
    from collections_app.pipeline.ids import RECORDS_PER_SUBMISSION
    from hin.models import HinLink
    from student_record.models import Instance, Student

    base = submission.pk * RECORDS_PER_SUBMISSION

    def own(record_id):
        if record_id is not None and base < record_id < base + RECORDS_PER_SUBMISSION:
            return ("own", record_id - base)
        return record_id

    def rows(model, *, exclude=("id", "submission")):
        names = [f.attname for f in model._meta.concrete_fields if f.name not in exclude]
        keys = {f.attname for f in model._meta.concrete_fields if f.is_relation or f.primary_key}
        return sorted(
            (tuple(own(v) if n in keys else v for n, v in zip(names, row, strict=True)) for row in
             model.objects.filter(submission=submission).values_list(*names)),
            key=repr,
        )  # fmt: skip

    fresh = Submission.objects.get(pk=submission.pk)
    return {
        "verdict": (fresh.status, fresh.error_count, fresh.warning_count, fresh.student_count, fresh.instance_count),
        "students": rows(Student, exclude=("submission",)),
        "instances": rows(Instance, exclude=("submission",)),
        "failures": rows(RuleFailure),
        "results": rows(RuleResult),
        "links": rows(HinLink),
        "schema_errors": rows(SchemaError),
    }


def differences(got: dict, expected: dict) -> list[str]:
    """What differs between two stored_rows() snapshots, briefly (empty when equal)."""
    out = []
    for key in expected:
        if got[key] != expected[key]:
            if isinstance(expected[key], list):
                missing = len(set(expected[key]) - set(got[key]))
                extra = len(set(got[key]) - set(expected[key]))
                out.append(
                    f"{key}: {len(got[key])} rows, expected {len(expected[key])} ({missing} missing, {extra} extra)"
                )
            else:
                out.append(f"{key}: {got[key]}, expected {expected[key]}")
    return out
