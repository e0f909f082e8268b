from django.apps import AppConfig


class ContactsConfig(AppConfig):
    """Graduate Outcomes contact details: population, contact rules, survey export."""

    name = "contacts"
    verbose_name = "Graduate Outcomes contact details"

    def ready(self):
        # Registers the kind's quality rules with the rules registry.
        from . import rules  # noqa: F401
