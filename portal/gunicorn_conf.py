"""gunicorn's settings for the web process (Dockerfile, docker-compose.yml and `manage.py bench web`
use this one file: `gunicorn portal.wsgi -c python:portal.gunicorn_conf`).

Threaded workers: a CSV download streams for seconds, and a sync worker would be held for all of
it while pages queue behind; with gthread each worker serves `threads` requests at once (each
thread with its own database connection), so a download takes one thread, not a whole worker.
"""

import os

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "3"))
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = 120
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None
