from django.apps import AppConfig


class ReviewConfig(AppConfig):
    """Review and approval: approvals, tolerance overrides, queries, sign-off and deadline reminders."""

    name = "review"
    verbose_name = "Review and approval"

    def ready(self):
        # Listens to the pipeline's submission_completed signal.
        from . import receivers  # noqa: F401
