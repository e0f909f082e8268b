from django.apps import AppConfig


class ReviewConfig(AppConfig):
    """Review and approval: approvals, tolerance overrides, queries, sign-off and deadline reminders."""

    name = "review"
    verbose_name = "Review and approval"
