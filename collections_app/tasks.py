"""Celery tasks: thin wrappers that receive ids and call the pipeline or a service.

The upload service queues `process_submission`; the periodic sweep (beat) is in periodic.py, so
that this module imports no service (services import it to queue work).
"""

from celery import shared_task

from .pipeline.runner import submission_process


@shared_task(
    bind=True,
    name="collections.process_submission",
    acks_late=True,  # a worker killed mid-stage leaves the message for another worker
    reject_on_worker_lost=True,
)
def process_submission(self, submission_id: int) -> None:
    submission_process(submission_id=submission_id, task_id=self.request.id or "")
