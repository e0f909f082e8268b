"""Health endpoints for load balancers and orchestrators: unauthenticated, JSON, cheap.

/health/live   the process is up and answering (no I/O at all).
/health/ready  it can do its work: the database answers, the file store takes a write, the
               broker accepts a connection, and a worker answered a ping lately: beat sends
               `portal.worker_ping` every WORKER_PING_INTERVAL s and the worker that runs it
               stamps WorkerHeartbeat; older than WORKER_PING_MAX_AGE s is a failure. 503 if
               any fails, each check's result in the body. With no broker (tasks run eagerly in
               the web process: the demo without a worker) broker and worker say "not
               configured" and do not fail readiness.

The database and storage checks are django-health-check's; the checks run one after another
in the request's own thread (its view would run them in threads with their own connections).
"""

from __future__ import annotations

import dataclasses
import logging

from django.conf import settings
from django.db.models import Max
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from health_check.base import HealthCheck
from health_check.checks import Database, Storage
from health_check.exceptions import HealthCheckException, ServiceUnavailable
from kombu import Connection

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)
NOT_CONFIGURED = "not configured"


def broker_configured() -> bool:
    """A broker is in use: tasks go to it rather than running eagerly in-process."""
    return bool(settings.CELERY_BROKER_URL) and not settings.CELERY_TASK_ALWAYS_EAGER


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection (within BROKER_CHECK_TIMEOUT seconds)."""

    def run(self) -> None:
        if not broker_configured():
            return
        timeout = settings.HEALTH_BROKER_TIMEOUT
        try:
            with Connection(
                settings.CELERY_BROKER_URL,
                connect_timeout=timeout,
                transport_options={**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "socket_timeout": timeout},
            ) as connection:
                connection.ensure_connection(max_retries=0, timeout=timeout)
        except Exception as exc:  # any transport error: the broker is not usable
            raise ServiceUnavailable(f"broker unreachable ({type(exc).__name__})") from exc

    def pretty_status(self) -> str:
        return "ok" if broker_configured() else NOT_CONFIGURED


@dataclasses.dataclass
class Worker(HealthCheck):
    """A worker ran `portal.worker_ping` within WORKER_PING_MAX_AGE seconds."""

    def run(self) -> None:
        if not broker_configured():
            return
        last = WorkerHeartbeat.objects.aggregate(last=Max("seen_at"))["last"]
        if last is None:
            raise ServiceUnavailable("no worker has answered a ping yet")
        age = (timezone.now() - last).total_seconds()
        if age > settings.WORKER_PING_MAX_AGE:
            raise ServiceUnavailable(f"no worker answered a ping for {age:.0f} s")

    def pretty_status(self) -> str:
        return "ok" if broker_configured() else NOT_CONFIGURED


def readiness_checks() -> dict[str, HealthCheck]:
    return {"database": Database(), "storage": Storage(), "broker": Broker(), "worker": Worker()}


def _result(check: HealthCheck) -> dict[str, str]:
    try:
        check.run()
    except HealthCheckException as exc:
        return {"status": "unavailable", "detail": exc.message}
    except Exception as exc:  # an unexpected failure is a failed check, not a 500
        logger.exception("health check %s raised", type(check).__name__)
        return {"status": "unavailable", "detail": type(exc).__name__}
    return {"status": check.pretty_status().lower()}


@never_cache
@require_GET
def live(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request):
    results = {name: _result(check) for name, check in readiness_checks().items()}
    ok = all(r["status"] != "unavailable" for r in results.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": results}, status=200 if ok else 503)
