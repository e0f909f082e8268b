from django.apps import AppConfig


class StudentRecordConfig(AppConfig):
    """The Student record as a record kind: its tables, XSD, parser, rules and sample files."""

    name = "student_record"
    verbose_name = "Student record"

    def ready(self):
        # Registers the kind with collections_app.kinds, and its rules with the rules registry.
        from . import kind, rules  # noqa: F401
