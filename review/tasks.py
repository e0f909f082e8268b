"""Celery beat tasks for deadlines: thin wrappers over review.services (idempotent, run daily)."""

from celery import shared_task

from .services import liaison_digest_send, reminders_send


@shared_task(name="review.send_deadline_reminders")
def send_deadline_reminders() -> int:
    return reminders_send()


@shared_task(name="review.send_liaison_digest")
def send_liaison_digest() -> int:
    return liaison_digest_send()
