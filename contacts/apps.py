from django.apps import AppConfig


class ContactsConfig(AppConfig):
    """Graduate Outcomes contact details: population, contact rules, survey export."""

    name = "contacts"
    verbose_name = "Graduate Outcomes contact details"

    def ready(self):
        from . import receivers  # noqa: F401 - connects the signal receivers
