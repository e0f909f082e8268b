"""The audit log screen and its CSV. Thin: the selector scopes and filters."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts import permissions
from collections_app.models import Collection
from core.csv import csv_response
from core.formatting import uk_datetime_text
from core.pagination import keyset_page

from . import selectors
from .filters import filters_from

CSV_HEADER = ["time (UK)", "actor", "action", "summary", "UKPRN", "provider", "collection", "submission"]


def _filters(request):
    """The filters that can be applied (a malformed one is left out: the screen says which)."""
    return filters_from(request.GET)


@login_required
@require_GET
def audit_log(request):
    permissions.require(
        permissions.is_liaison(request.user) or permissions.is_provider_staff(request.user),
        "Your account has no portal role.",
    )
    filters, problems = _filters(request)
    for message in problems.values():
        messages.error(request, f"Not filtered by this: {message}")
    # The screen shows neither an event's details nor a provider's contact settings (JSON, decoded
    # per row): not read. The CSV and the API do show the details.
    events = selectors.audit_events(user=request.user, filters=filters).defer(
        "details", "provider__email_domains", "provider__switchboard_numbers"
    )
    page = keyset_page(events, request, 50)
    query = request.GET.copy()
    for name in ("page", "after", "before"):
        query.pop(name, None)
    return render(
        request,
        "audit/log.html",
        {
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "providers": permissions.visible_providers(request.user).only("ukprn", "name")
            if permissions.is_liaison(request.user)
            else [],
            "collections": Collection.objects.order_by("-reporting_year", "reference"),
            "actions": selectors.audit_actions(user=request.user),
            "active_sorts": [filters.sort],
        },
    )


@login_required
@require_GET
def audit_log_csv(request):
    filters, _ = _filters(request)  # as the screen it is downloaded from shows them
    events = selectors.audit_events(user=request.user, filters=filters)
    rows = (
        (
            uk_datetime_text(e.at),
            e.actor_name or (e.actor.username if e.actor else "System"),
            e.action,
            e.summary,
            e.provider.ukprn if e.provider else "",
            e.provider.name if e.provider else "",
            e.collection.reference if e.collection else "",
            e.submission_id or "",
        )
        for e in events.iterator(chunk_size=2000)
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(f"audit-log-{stamp}.csv", CSV_HEADER, rows)
