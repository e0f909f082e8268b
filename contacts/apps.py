from django.apps import AppConfig


class ContactsConfig(AppConfig):
    """Graduate Outcomes contact details: population, contact rules, survey export."""

    name = "contacts"
    verbose_name = "Graduate Outcomes contact details"

    def ready(self):
        # Connects the signal receivers (population rebuilds) and registers the kind's quality
        # rules with the rules registry.
        from . import receivers, rules  # noqa: F401
