"""Writes for the audit log. Services report events through core.audit.audit_record; the
receiver stores them here."""

from __future__ import annotations

from .models import AuditEvent


def audit_event_store(
    *,
    actor,
    action: str,
    summary: str,
    provider=None,
    collection=None,
    submission=None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one event. `actor` is None for system events. Provider and collection are taken from
    the submission when not given, so the log can always be scoped to a provider."""
    provider_id = provider.pk if provider is not None else getattr(submission, "provider_id", None)
    collection_id = collection.pk if collection is not None else getattr(submission, "collection_id", None)
    # Anonymous or unsaved users count as the system.
    actor = actor if getattr(actor, "pk", None) else None
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=(actor.get_full_name() or actor.username) if actor else "",
        action=action,
        summary=summary,
        provider_id=provider_id,
        collection_id=collection_id,
        submission=submission,
        details=details or {},
    )
