from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Shared UI: base templates, static files, template tags, the demo command."""

    name = "portal"
    verbose_name = "Portal"
