"""The worker's heartbeat for /health/ready (portal/health.py)."""

from celery import shared_task
from django.utils import timezone

from .models import WorkerHeartbeat


@shared_task(bind=True, name="portal.worker_ping")
def worker_ping(self) -> None:
    # One row per worker: readiness asks whether any answered lately; the rows say which.
    WorkerHeartbeat.objects.update_or_create(
        worker=(self.request.hostname or "eager")[:200], defaults={"seen_at": timezone.now()}
    )
