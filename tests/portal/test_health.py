"""Health endpoints, /metrics and structured logs (issue 14)."""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import os
import re
import subprocess
import sys
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.test import Client, TestCase
from django.utils import timezone

from collections_app.models import Submission
from collections_app.services import submission_create
from core import logs
from portal.models import WorkerHeartbeat
from portal.tasks import worker_ping
from student_record.sample_data import write_student_record

from ..factories import CollectionFactory, ProviderFactory, SubmissionFactory, UserFactory
from ..worker_helpers import ROOT, RealWorker, closed_port_url, flush_broker, sending_to, wait_for

TOKEN = "metrics-token-for-tests-0123456789"


def sample(provider, instances=30) -> bytes:
    out = io.StringIO()
    write_student_record(out, instances=instances, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
                         reporting_year=2023, seed=2, defect_rate=0.2)  # fmt: skip
    return out.getvalue().encode()


def upload(provider, user, content: bytes) -> Submission:
    file = SimpleUploadedFile("record.xml", content, content_type="application/xml")
    with TestCase.captureOnCommitCallbacks(execute=True):  # the task is sent on commit
        submission = submission_create(collection=CollectionFactory(), provider=provider, user=user, uploaded_file=file)
    submission.refresh_from_db()
    return submission


@pytest.fixture
def with_broker(settings):
    """As in production: a broker configured and tasks sent to it (the URL is the test's to set)."""

    def configure(url: str) -> None:
        settings.CELERY_BROKER_URL = url
        settings.CELERY_TASK_ALWAYS_EAGER = False

    return configure


def ready(client=None):
    response = (client or Client()).get("/health/ready")
    return response.status_code, response.json()


# -- health -----------------------------------------------------------------------------------


def test_live_answers_without_touching_anything(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_without_a_broker_says_not_configured_and_is_ready(db):
    status, body = ready()
    assert status == 200, body
    assert body["status"] == "ok"
    assert body["checks"] == {
        "database": {"status": "ok"},
        "storage": {"status": "ok"},
        "broker": {"status": "not configured"},
        "worker": {"status": "not configured"},
    }


def test_ready_fails_when_the_database_is_down(db):
    with mock.patch("health_check.checks.Database.run", side_effect=OperationalError("connection refused")):
        status, body = ready()
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["status"] == "unavailable"
    assert body["checks"]["storage"] == {"status": "ok"}


def test_ready_fails_when_storage_refuses_writes(db):
    with mock.patch("django.core.files.storage.FileSystemStorage.save", side_effect=PermissionError("read-only")):
        status, body = ready()
    assert status == 503
    assert body["checks"]["storage"]["status"] == "unavailable"
    assert body["checks"]["database"] == {"status": "ok"}


def test_ready_fails_when_the_broker_is_down(db, with_broker):
    with_broker(closed_port_url(4))
    worker_ping.apply()  # a fresh heartbeat: only the broker is down
    status, body = ready()
    assert status == 503
    assert body["checks"]["broker"]["status"] == "unavailable"
    assert body["checks"]["worker"] == {"status": "ok"}
    assert body["checks"]["database"] == {"status": "ok"}


def test_ready_fails_when_no_worker_answered_within_a_minute(db, with_broker, require_redis):
    with_broker(require_redis)
    status, body = ready()
    assert status == 503
    assert body["checks"]["worker"] == {"status": "unavailable", "detail": "no worker has answered a ping yet"}
    assert body["checks"]["broker"] == {"status": "ok"}

    WorkerHeartbeat.objects.create(worker="celery@old", seen_at=timezone.now() - timedelta(seconds=61))
    status, body = ready()
    assert status == 503
    assert body["checks"]["worker"]["status"] == "unavailable"
    assert "61 s" in body["checks"]["worker"]["detail"]

    worker_ping.apply()  # what beat's ping does on a worker
    status, body = ready()
    assert status == 200, body
    assert body["checks"]["worker"] == {"status": "ok"}


def test_worker_ping_stamps_the_worker_that_ran_it(db):
    worker_ping.apply()
    worker_ping.apply()
    beat = WorkerHeartbeat.objects.get()
    assert timezone.now() - beat.seen_at < timedelta(seconds=5)


def test_the_worker_ping_is_on_beats_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["worker-ping"]
    assert entry["task"] == "portal.worker_ping"
    assert entry["schedule"] < settings.WORKER_PING_MAX_AGE


# -- metrics ----------------------------------------------------------------------------------


def scrape(**headers):
    return Client().get("/metrics", **headers)


def test_metrics_are_not_there_without_a_token_setting(db, settings):
    settings.METRICS_TOKEN = ""
    assert scrape().status_code == 404
    assert scrape(HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_want_the_bearer_token(db, settings):
    settings.METRICS_TOKEN = TOKEN
    assert scrape().status_code == 404
    assert scrape(HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert scrape(HTTP_AUTHORIZATION=f"Token {TOKEN}").status_code == 404
    response = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


def test_metrics_from_an_allowed_network(db, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.1.0.0/16")]
    assert scrape(REMOTE_ADDR="10.2.0.5").status_code == 404
    assert scrape(REMOTE_ADDR="10.1.3.4").status_code == 200


def metric_lines(settings) -> list[str]:
    settings.METRICS_TOKEN = TOKEN
    response = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return response.content.decode().splitlines()


def value(lines: list[str], name: str, **labels) -> float:
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    for line in lines:
        metric, _, number = line.rpartition(" ")
        if metric.split("{")[0] == name and all(label in metric for label in wanted):
            return float(number)
    raise AssertionError(f"no {name} {labels} in the scrape")


def test_metrics_expose_stage_durations_and_rows_per_second_after_an_upload(settings, provider, provider_user):
    submission = upload(provider, provider_user, sample(provider))
    assert submission.status == "failed", submission.error_message
    timings = submission.stage_timings
    lines = metric_lines(settings)

    for stage in ("schema", "loading", "rules", "linking", "verdict"):
        assert value(lines, "portal_pipeline_stage_duration_seconds_count", kind="student_record", stage=stage) == 1
        assert value(
            lines, "portal_pipeline_stage_duration_seconds_sum", kind="student_record", stage=stage
        ) == pytest.approx(timings[stage])
        assert (
            value(lines, "portal_pipeline_stage_duration_seconds_bucket", kind="student_record", stage=stage, le="+Inf")
            == 1
        )
    rate = 30 / (timings["schema"] + timings["loading"])
    assert value(lines, "portal_pipeline_rows_per_second_sum", kind="student_record") == pytest.approx(rate)
    assert value(lines, "portal_pipeline_ingested_rows_total", kind="student_record") == 30
    assert value(lines, "portal_submissions", kind="student_record", status="failed") == 1
    assert value(lines, "portal_submissions", kind="student_record", status="passed") == 0
    assert value(lines, "portal_queue_depth") == 0
    assert value(lines, "portal_queue_oldest_age_seconds") == 0
    # request latency by view, from django-prometheus's middleware
    assert any(line.startswith("django_http_requests_latency_seconds_by_view_method") for line in lines)


def test_metrics_count_the_queue_and_failed_jobs(settings, provider, provider_user):
    SubmissionFactory(provider=provider, status="queued", queued_at=timezone.now() - timedelta(seconds=120))
    SubmissionFactory(provider=provider, status="queued")
    SubmissionFactory(provider=provider, status="error")
    lines = metric_lines(settings)
    assert value(lines, "portal_queue_depth") == 2
    assert 119 <= value(lines, "portal_queue_oldest_age_seconds") < 200
    assert value(lines, "portal_pipeline_failed_jobs", kind="student_record") == 1
    assert value(lines, "portal_submissions", kind="student_record", status="queued") == 2


# -- structured logs --------------------------------------------------------------------------


def test_json_lines_carry_the_context():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("there",), None)
    with logs.bound(request_id="r1", user="pat", provider="10007794", submission_id=7):
        logs.ContextFilter().filter(record)
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["message"] == "hello there"
    assert (line["request_id"], line["user"], line["provider"], line["submission_id"]) == ("r1", "pat", "10007794", 7)
    plain = logs.PlainFormatter().format(record)
    assert "request_id=r1" in plain and "submission_id=7" in plain and plain.endswith("hello there")


@pytest.mark.django_db(transaction=True)  # the task is sent on commit, inside the request, as in production
def test_an_upload_s_web_and_pipeline_lines_carry_its_request_and_submission(caplog, provider, provider_user):
    client = Client()
    client.force_login(provider_user)
    CollectionFactory()
    logs.clear()
    with caplog.at_level(logging.INFO):
        response = client.post(
            "/collections/C23051/upload/",
            {"file": SimpleUploadedFile("r.xml", sample(provider), content_type="application/xml")},
            HTTP_X_REQUEST_ID="upload-request-0001",
        )
    assert response.status_code in (200, 302), response.content[:300]
    assert response["X-Request-ID"] == "upload-request-0001"
    submission = Submission.objects.get()
    ours = [r for r in caplog.records if getattr(r, "submission_id", None) == submission.pk]
    messages = [r.getMessage() for r in ours]
    assert any("accepted" in m for m in messages), messages
    assert any("processing started" in m for m in messages), messages
    assert any("verdict failed" in m for m in messages), messages
    for record in ours:
        assert record.request_id == "upload-request-0001"
        assert record.user == provider_user.username
        assert record.provider == provider.ukprn


def test_a_request_gets_a_request_id_of_its_own(db):
    response = Client().get("/health/live", HTTP_X_REQUEST_ID="bad id with spaces")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_s_log_lines_carry_the_submission_and_the_upload_s_request(
    require_postgres, require_redis, settings, tmp_path
):
    provider = ProviderFactory()
    user = UserFactory(provider=provider)
    flush_broker(require_redis)
    worker = RealWorker(
        broker_url=require_redis, media_root=settings.MEDIA_ROOT, log_dir=tmp_path, env={"LOG_FORMAT": "json"}
    )
    with worker, sending_to(require_redis):
        worker.wait_ready()
        with logs.bound(request_id="web-request-42", user=user.username):
            submission = upload(provider, user, sample(provider))
        row = Submission.objects.filter(pk=submission.pk)
        wait_for(lambda: row.exclude(status__in=["queued", "processing"]).exists(), 120, "the verdict")
        wait_for(lambda: "verdict" in worker.log_tail(20_000), 10, "the verdict's log line")
    lines = []
    for text in worker.log_path.read_text().splitlines():
        try:
            lines.append(json.loads(text))
        except ValueError:
            continue  # Celery's start-up banner is not a log line
    ours = [line for line in lines if line.get("submission_id") == submission.pk]
    assert any("verdict failed" in line["message"] for line in ours), worker.log_tail()
    assert all(line["request_id"] == "web-request-42" for line in ours), ours
    assert all(line["provider"] == provider.ukprn for line in ours if "processing started" in line["message"])


# -- docker compose ---------------------------------------------------------------------------


def test_compose_healthchecks_use_the_health_endpoints():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert '"scripts/healthcheck.py", "/health/ready"' in compose
    assert "inspect ping -d celery@$$HOSTNAME" in compose


@pytest.mark.django_db(transaction=True)
def test_the_compose_probe_passes_on_200_and_fails_otherwise(live_server):
    port = live_server.url.rsplit(":", 1)[1]
    env = {**os.environ, "PORT": port, "ALLOWED_HOSTS": "localhost,portal.example"}

    def probe(path: str) -> int:
        script = ROOT / "scripts" / "healthcheck.py"
        return subprocess.run([sys.executable, script, path], env=env, capture_output=True, timeout=30).returncode  # noqa: S603

    assert probe("/health/live") == 0
    assert probe("/health/ready") == 0
    assert probe("/metrics") == 1  # 404 without the token


def test_every_metric_of_the_grafana_dashboard_is_exposed(settings, provider, provider_user):
    upload(provider, provider_user, sample(provider))
    worker_ping.apply()
    Client().get("/health/live")  # a request for django-prometheus to count
    exposed = {line.split("{")[0].split(" ")[0] for line in metric_lines(settings) if not line.startswith("#")}
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\b((?:portal|django)_[a-z_]+)\b", expr)}
    assert len(used) >= 10
    assert used <= exposed, sorted(used - exposed)
