from django.apps import AppConfig


class HinConfig(AppConfig):
    """Year-on-year linking by HIN (HUSID + INSTID + NUMHUS) and the HIN reports A-D."""

    name = "hin"
    verbose_name = "HIN linking"

    def ready(self):
        # The HIN checks register themselves as linking-stage rules on import, and linking as the
        # Student record's extra pipeline stage.
        from . import kind_stage, rules, workspace  # noqa: F401
