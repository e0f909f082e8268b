"""Beat's periodic task for the pipeline (registered when the app is ready, see apps.py)."""

from celery import shared_task

from .services import submissions_sweep


@shared_task(name="collections.sweep_submissions")
def sweep_submissions() -> dict[str, int]:
    return submissions_sweep()
