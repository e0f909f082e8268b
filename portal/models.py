from django.db import models


class WorkerHeartbeat(models.Model):
    """When each Celery worker last ran the `portal.worker_ping` task (beat sends it every
    WORKER_PING_INTERVAL seconds): /health/ready wants one within WORKER_PING_MAX_AGE."""

    worker = models.CharField(max_length=200, primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.worker} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
