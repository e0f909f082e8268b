"""gunicorn's settings for the web process (Dockerfile, docker-compose.yml and `manage.py bench web`
use this one file: `gunicorn portal.wsgi -c python:portal.gunicorn_conf`).

Threaded workers: a CSV download streams for seconds, and a sync worker would be held for all of
it while pages queue behind; with gthread each worker serves `threads` requests at once (each
thread with its own database connection), so a download takes one thread, not a whole worker.
"""

import gc
import os

from django.urls import get_resolver

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "3"))
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = 120
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None


def post_worker_init(worker):
    """Leave the app's own objects (modules, classes, URL patterns: some 100,000) out of the cyclic
    garbage collector's full passes. Each full pass scans every tracked object while holding the GIL,
    so all of the worker's threads wait: under load these passes took 100-340 ms and were most of
    the pages' p95 (bench web, API HIN report A). What requests allocate is collected as before."""
    get_resolver().url_patterns  # noqa: B018 - imports every view now, so that they are frozen too
    gc.freeze()
