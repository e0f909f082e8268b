"""Celery application. Without CELERY_BROKER_URL, tasks run eagerly in-process (demo mode).

Log context crosses to the worker in the task's headers: the sender's request id and user go
with every task (before_task_publish), and the worker binds them again for the task's run
(task_prerun), so the worker's log lines for a submission carry the upload's request id.
"""

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

from core import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

LOG_CONTEXT_HEADER = "log_context"


@before_task_publish.connect
def _send_log_context(headers=None, **kwargs):
    context = {k: v for k, v in logs.current().items() if k in ("request_id", "user")}
    if headers is not None and context:
        headers[LOG_CONTEXT_HEADER] = context


@task_prerun.connect
def _bind_log_context(task_id=None, task=None, **kwargs):
    sent = getattr(task.request, LOG_CONTEXT_HEADER, None) if task is not None else None
    if task is not None and task.request.is_eager:
        return  # run in the sender's own context, which it already has
    logs.clear()
    logs.bind(**(sent if isinstance(sent, dict) else {}), task_id=task_id)


@task_postrun.connect
def _clear_log_context(task=None, **kwargs):
    if task is not None and not task.request.is_eager:
        logs.clear()
