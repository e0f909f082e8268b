"""Beat's nightly retention task (registered in apps.py; scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from .retention import retention_run


@shared_task(name="portal.retention")
def retention() -> int:
    return len(retention_run())
