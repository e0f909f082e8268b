"""Recording who did what, for services in every app, without depending on the audit app (which
builds on them: its screens scope events by provider and collection).

`audit_record` sends a synchronous signal that the audit app stores in the caller's transaction,
so an event is committed or rolled back with the change it describes. Nobody listening is a
configuration error, never a silently lost event.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.dispatch import Signal

# Arguments: actor, action, summary, provider, collection, submission, details.
audit_requested = Signal()


def audit_record(
    *,
    actor,
    action: str,
    summary: str,
    provider=None,
    collection=None,
    submission=None,
    details: dict | None = None,
):
    """Append one event to the audit log and return it. `actor` is None for system events."""
    responses = audit_requested.send(
        sender=None,
        actor=actor,
        action=action,
        summary=summary,
        provider=provider,
        collection=collection,
        submission=submission,
        details=details,
    )
    if not responses:
        raise ImproperlyConfigured("No audit log is listening: add 'audit' to INSTALLED_APPS.")
    return responses[0][1]
