"""Reads for the audit log, always scoped to the user: liaison sees everything, provider staff
only their own provider's events (events without a provider, such as deadline changes or
liaison accounts, are liaison-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Q, QuerySet

from accounts import permissions

from .models import AuditEvent

SORTS = {
    "at": ("at", "id"),
    "-at": ("-at", "-id"),
    "action": ("action", "-at", "-id"),
    "-action": ("-action", "-at", "-id"),
    "actor": ("actor_name", "-at", "-id"),
    "-actor": ("-actor_name", "-at", "-id"),
}
DEFAULT_SORT = "-at"


@dataclass(frozen=True)
class AuditFilters:
    provider: str = ""  # UKPRN
    collection: str = ""  # reference
    action: str = ""  # exact slug, or a prefix ending in "." ("submission.")
    actor: str = ""  # username or name, partial
    date_from: date | None = None
    date_to: date | None = None
    submission: int | None = None
    sort: str = DEFAULT_SORT


def audit_events(*, user, filters: AuditFilters | None = None) -> QuerySet[AuditEvent]:
    filters = filters or AuditFilters()
    events = permissions.scope_to_provider(AuditEvent.objects.all(), user).select_related(
        "actor", "provider", "collection"
    )
    if filters.provider:
        events = events.filter(provider__ukprn=filters.provider)
    if filters.collection:
        events = events.filter(collection__reference__iexact=filters.collection)
    if filters.action:
        if filters.action.endswith("."):
            events = events.filter(action__startswith=filters.action)
        else:
            events = events.filter(action=filters.action)
    if filters.actor:
        if filters.actor.lower() == "system":
            events = events.filter(actor__isnull=True)
        else:
            events = events.filter(Q(actor__username__icontains=filters.actor) | Q(actor_name__icontains=filters.actor))
    # Dates are UK calendar days (the __date lookup uses TIME_ZONE, Europe/London).
    if filters.date_from:
        events = events.filter(at__date__gte=filters.date_from)
    if filters.date_to:
        events = events.filter(at__date__lte=filters.date_to)
    if filters.submission:
        events = events.filter(submission_id=filters.submission)
    return events.order_by(*SORTS.get(filters.sort, SORTS[DEFAULT_SORT]))


def audit_actions(*, user) -> list[str]:
    """The action slugs the user could filter by (those present in their scope).

    A loose index scan (each next slug is the MIN above the last, one index probe per slug), not a
    DISTINCT over the whole log: the log grows without end, the slugs are a few dozen."""
    if permissions.is_liaison(user):
        scope, params = "", []
    elif permissions.is_provider_staff(user):
        scope, params = " AND provider_id = %s", [user.provider_id]
    else:
        return []
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    sql = (
        f"WITH RECURSIVE slugs(action) AS (SELECT MIN(action) FROM {table} WHERE 1 = 1{scope} "
        f"UNION ALL SELECT (SELECT MIN(action) FROM {table} WHERE action > slugs.action{scope}) "
        "FROM slugs WHERE slugs.action IS NOT NULL) SELECT action FROM slugs WHERE action IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params + params)
        return [row[0] for row in cursor.fetchall()]
