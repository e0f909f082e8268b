from django.apps import AppConfig


class CollectionsAppConfig(AppConfig):
    """Collections, submissions, the ingest pipeline and the quality-rules engine."""

    name = "collections_app"
    verbose_name = "Collections and submissions"

    def ready(self):
        # The sweep task lives outside tasks.py (which services import); Celery must still know it.
        from . import periodic  # noqa: F401
