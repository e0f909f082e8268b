"""The portal's periodic tasks: the worker's heartbeat for /health/ready (portal/health.py) and
beat's nightly retention (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task
from django.utils import timezone

from .models import WorkerHeartbeat
from .retention import retention_run


@shared_task(bind=True, name="portal.worker_ping")
def worker_ping(self) -> None:
    # One row per worker: readiness asks whether any answered lately; the rows say which.
    WorkerHeartbeat.objects.update_or_create(
        worker=(self.request.hostname or "eager")[:200], defaults={"seen_at": timezone.now()}
    )


@shared_task(name="portal.retention")
def retention() -> int:
    return len(retention_run())
