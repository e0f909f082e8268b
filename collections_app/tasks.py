"""Celery tasks: thin wrappers that receive ids and call services."""

from celery import shared_task

from .pipeline.runner import submission_process
from .services import submissions_sweep


@shared_task(
    bind=True,
    name="collections.process_submission",
    acks_late=True,  # a worker killed mid-stage leaves the message for another worker
    reject_on_worker_lost=True,
)
def process_submission(self, submission_id: int) -> None:
    submission_process(submission_id=submission_id, task_id=self.request.id or "")


@shared_task(name="collections.sweep_submissions")
def sweep_submissions() -> dict[str, int]:
    return submissions_sweep()
