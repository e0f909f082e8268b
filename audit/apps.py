from django.apps import AppConfig


class AuditConfig(AppConfig):
    """An append-only log of who changed what: uploads, verdicts, approvals, queries, deadlines, roles."""

    name = "audit"
    verbose_name = "Audit log"

    def ready(self):
        # Stores the events services report through core.audit.audit_record.
        from . import receivers  # noqa: F401
