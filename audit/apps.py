from django.apps import AppConfig


class AuditConfig(AppConfig):
    """An append-only log of who changed what: uploads, verdicts, approvals, queries, deadlines, roles."""

    name = "audit"
    verbose_name = "Audit log"
