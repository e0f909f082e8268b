from django.apps import AppConfig


class ReviewConfig(AppConfig):
    """Review and approval: approvals, tolerance overrides, queries, sign-off and deadline reminders."""

    name = "review"
    verbose_name = "Review and approval"

    def ready(self):
        from accounts import account_page
        from collections_app import upload_notices

        # Listens to the pipeline's submission_completed signal.
        from . import page_hooks, receivers  # noqa: F401

        account_page.add_section(page_hooks.notification_preferences_section)
        upload_notices.add_notice(page_hooks.signed_off_upload_notice)
