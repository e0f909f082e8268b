from django.apps import AppConfig


class CredibilityConfig(AppConfig):
    """Credibility reports of the Student record: this year's counts beside last year's, with the
    unusual movements flagged, explained by the provider and read by liaison before approval."""

    name = "credibility"
    verbose_name = "Credibility reports"

    def ready(self):
        # The tables are computed as the Student record's stage after linking.
        from . import kind_stage  # noqa: F401
