"""The audit log stores what services report through core.audit (connected in AuditConfig.ready)."""

from django.dispatch import receiver

from core.audit import audit_requested

from .services import audit_event_store


@receiver(audit_requested, dispatch_uid="audit.store")
def store(sender, *, signal, actor, action, summary, provider, collection, submission, details, **kwargs):
    return audit_event_store(
        actor=actor,
        action=action,
        summary=summary,
        provider=provider,
        collection=collection,
        submission=submission,
        details=details,
    )
