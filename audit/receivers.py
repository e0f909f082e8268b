"""The audit log stores what services report through core.audit (connected in AuditConfig.ready)."""

from django.dispatch import receiver

from core.audit import audit_requested

from .services import audit_event_store


@receiver(audit_requested, dispatch_uid="audit.store")
def store(sender, signal, **event):
    # The event is audit_record's keyword arguments; audit_event_store's signature checks them.
    return audit_event_store(**event)
