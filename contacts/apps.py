from django.apps import AppConfig


class ContactsConfig(AppConfig):
    """Graduate Outcomes contact details: population, contact rules, survey export."""

    name = "contacts"
    verbose_name = "Graduate Outcomes contact details"

    def ready(self):
        # Registers the kind with collections_app.kinds (its parser, tables and header check),
        # its quality rules with the rules registry, and the signal receivers (population rebuilds).
        from . import kind, receivers, rules  # noqa: F401
