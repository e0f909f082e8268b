from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Shared UI: base templates, static files, template tags, the demo command."""

    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        # The nightly retention task; Celery must know it for beat to send it.
        from . import tasks  # noqa: F401
