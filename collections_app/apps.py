from django.apps import AppConfig


class CollectionsAppConfig(AppConfig):
    """Collections, submissions, the ingest pipeline and the quality-rules engine."""

    name = "collections_app"
    verbose_name = "Collections and submissions"
