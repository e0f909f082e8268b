"""Review and approval screens: approval panel actions, overrides, queries, sign-off, the liaison
grid. Thin: reads come from review.selectors, writes from review.services; refusals
(ActionRefused, PermissionDenied) become messages on the page the user came from."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.decorators import liaison_required
from collections_app import selectors as collection_selectors
from collections_app.models import Collection, Submission
from core.csv import csv_response
from core.errors import ActionRefused
from core.navigation import redirect_back
from core.pagination import keyset_page
from core.sorting import resolve_sort

from . import selectors, services
from .models import OverrideStatus, QueryStatus

# --- helpers ------------------------------------------------------------------------------------


def _visible_query(request, pk):
    query = selectors.query_get(user=request.user, pk=pk)
    if query is None:
        raise Http404("No such query.")
    return query


def _attempt(request, action, success: str) -> bool:
    """Run a service call; a refusal becomes an error message saying why, never a 500."""
    try:
        action()
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return False
    except PermissionDenied as denied:
        messages.error(request, str(denied) or "Your role does not allow this.")
        return False
    messages.success(request, success)
    return True


def _without_page(request) -> str:
    """The current query string without `page` (and its cursor), for the pagination links."""
    query = request.GET.copy()
    for name in ("page", "after", "before"):
        query.pop(name, None)
    return query.urlencode()


def approval_panel(request, submission: Submission, *, summaries=None, counts=None) -> dict:
    """Context for the approval panel and queries on the submission page (portal.views). `summaries`
    (rule_summaries) and `counts` (warning_counts): the page's own, so they are read once."""
    user = request.user
    state = selectors.collection_state(provider=submission.provider, collection=submission.collection)
    is_approver = permissions.can_approve_for(user, submission.provider)
    # Only the provider's current upload (the newest completed one) is acted on: an older or a
    # rejected one is history, shown without approve, override or confirm actions.
    is_current = submission.pk == state.current_id
    overrides = list(selectors.overrides_for(submission=submission))
    warnings = (
        selectors.warnings_over_tolerance(submission=submission, counts=counts, overrides=overrides)
        if submission.is_complete
        else []
    )
    blockers = (
        selectors.approval_blockers(submission=submission, tolerance_rows=warnings)
        if is_current and submission.status == "passed"
        else []
    )
    queries = selectors.queries_for(user=user, submission=submission)
    return {
        "review_state": state,
        "approval": state.approval,
        "is_approved_submission": bool(state.approval and state.approval.submission_id == submission.pk),
        "is_current_submission": is_current,
        "current_submission_id": state.current_id,
        "can_approve": is_current and is_approver and submission.status == "passed",
        "is_approver": is_approver,
        "approval_blockers": blockers,
        "tolerance_rows": warnings,
        "can_request_override": is_current and permissions.is_staff_of(user, submission.provider),
        "overrides": overrides,
        "review_queries": queries,
        "review_query_counts": selectors.open_query_counts(
            user=user, provider=submission.provider_id, collection=submission.collection_id
        ),
        "can_raise_query": permissions.is_liaison(user),
        "can_sign_off": is_current and permissions.is_liaison(user),
        "rule_codes": [
            s.code
            for s in (collection_selectors.rule_summaries(submission=submission) if summaries is None else summaries)
            if s.failure_count
        ],
    }


# --- approval and overrides ---------------------------------------------------------------------


@login_required
@require_POST
def submission_approve(request, pk):
    submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
    _attempt(
        request,
        lambda: services.submission_approve(submission=submission, user=request.user),
        f"Submission {submission.pk} is approved for {submission.collection.reference}. Liaison will review it "
        "and sign it off.",
    )
    return redirect("submission_detail", pk=pk)


@login_required
@require_POST
def override_request(request, pk):
    submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
    code = request.POST.get("code", "")
    _attempt(
        request,
        lambda: services.override_request(
            submission=submission,
            code=code,
            percent=request.POST.get("percent", ""),
            justification=request.POST.get("justification", ""),
            user=request.user,
        ),
        f"Override for check {code} requested. Liaison will approve or refuse it; you will see the decision here.",
    )
    return redirect("submission_detail", pk=pk)


@liaison_required
@require_POST
def override_decide(request, pk):
    override = selectors.overrides_visible_to(user=request.user).filter(pk=pk).first()
    if override is None:
        raise Http404("No such override request.")
    approve = request.POST.get("decision") == "approve"
    _attempt(
        request,
        lambda: services.override_decide(
            override=override, approve=approve, message=request.POST.get("message", ""), user=request.user
        ),
        f"Override for check {override.code} {'approved' if approve else 'refused'}. The provider can see your "
        "decision on their submission page.",
    )
    return redirect_back(request, "override_list")


OVERRIDE_SORTS = {
    "requested": ("requested_at", "id"),
    "provider": ("provider__name", "-requested_at", "-id"),
    "collection": ("collection__reference", "-requested_at", "-id"),
    "code": ("code", "-requested_at", "-id"),
    "percent": ("percent", "-requested_at", "-id"),
    "status": ("status", "-requested_at", "-id"),
}


def _provider_filter(request, providers) -> tuple[str, str]:
    """The `provider` filter's UKPRN, and the value given if no visible provider has it: a mistyped or
    stale link lists every provider's rows, as the picker then shows, and the page says so."""
    provider = request.GET.get("provider", "")
    if provider and not providers.filter(ukprn=provider).exists():
        return "", provider
    return provider, ""


def _status_filter(request, default: str, choices) -> str:
    """The `status` filter, or `default` for a value the picker does not offer (it would show that)."""
    status = request.GET.get("status", default)
    return status if status in choices else default


@liaison_required
@require_GET
def override_list(request):
    status = _status_filter(request, OverrideStatus.PENDING, [*OverrideStatus.values, "all"])
    providers = permissions.visible_providers(request.user)
    provider, unknown_provider = _provider_filter(request, providers)
    order_by, sort = resolve_sort(request.GET.get("sort", ""), allowed=OVERRIDE_SORTS, default="-requested")
    overrides = selectors.overrides_visible_to(user=request.user)
    if provider:
        overrides = overrides.filter(provider__ukprn=provider)
    if status in OverrideStatus.values:
        overrides = overrides.filter(status=status)
    page = keyset_page(overrides.order_by(*order_by), request, 50)
    return render(
        request,
        "review/override_list.html",
        {
            "page": page,
            "status": status,
            "statuses": OverrideStatus.choices,
            "provider": provider,
            "unknown_provider": unknown_provider,
            "providers": providers,
            "query": _without_page(request),
            "active_sorts": [sort],
        },
    )


# --- tolerances ---------------------------------------------------------------------------------


@login_required
def collection_tolerances(request, reference):
    """Every warning rule's tolerance in a collection: liaison change them here, provider staff read them."""
    collection = collection_selectors.collection_get(reference=reference)
    if collection is None:
        raise Http404("No such collection.")
    if request.method == "POST":
        permissions.require(permissions.is_liaison(request.user), "Only Liaison can set a tolerance.")
        code = request.POST.get("code", "")
        if request.POST.get("reset"):
            _attempt(
                request,
                lambda: services.tolerance_reset(collection=collection, code=code, user=request.user),
                f"Tolerance of check {code} is back to the check's default.",
            )
            return redirect("collection_tolerances", reference=reference)
        value = request.POST.get("value", "").strip()
        by_count = request.POST.get("unit") == "count"
        _attempt(
            request,
            lambda: services.tolerance_set(
                collection=collection,
                code=code,
                user=request.user,
                percent=None if by_count else value,
                count=value if by_count else None,
            ),
            f"Tolerance of check {code} saved.",
        )
        return redirect("collection_tolerances", reference=reference)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(
        request,
        "review/tolerances.html",
        {
            "collection": collection,
            "rows": selectors.collection_tolerances(collection=collection),
            "can_edit": permissions.is_liaison(request.user),
        },
    )


# --- queries ------------------------------------------------------------------------------------

QUERY_SORTS = {
    "updated": ("updated_at", "id"),
    "raised": ("raised_at", "id"),
    "status": ("status", "-updated_at", "-id"),
    "provider": ("provider__name", "-updated_at", "-id"),
    "subject": ("subject", "-updated_at", "-id"),
}


@login_required
@require_GET
def query_list(request):
    is_liaison = permissions.is_liaison(request.user)
    status = _status_filter(request, "unresolved", [*QueryStatus.values, "unresolved", "all"])
    providers = permissions.visible_providers(request.user) if is_liaison else []
    provider, unknown_provider = _provider_filter(request, providers) if is_liaison else ("", "")
    order_by, sort = resolve_sort(request.GET.get("sort", ""), allowed=QUERY_SORTS, default="-updated")
    queries = selectors.queries_visible_to(user=request.user)
    if provider:
        queries = queries.filter(provider__ukprn=provider)
    if status == "unresolved":
        queries = queries.filter(status__in=selectors.UNRESOLVED_QUERY)
    elif status in QueryStatus.values:
        queries = queries.filter(status=status)
    page = keyset_page(queries.order_by(*order_by), request, 50)
    return render(
        request,
        "review/query_list.html",
        {
            "page": page,
            "status": status,
            "statuses": QueryStatus.choices,
            "provider": provider,
            "unknown_provider": unknown_provider,
            "providers": providers,
            "counts": selectors.open_query_counts(user=request.user),
            "query": _without_page(request),
            "active_sorts": [sort],
        },
    )


@login_required
@require_GET
def query_detail(request, pk):
    query = _visible_query(request, pk)
    user = request.user
    return render(
        request,
        "review/query_detail.html",
        {
            "q": query,
            "thread": selectors.query_messages(query=query),
            "can_respond": permissions.is_staff_of(user, query.provider) and query.status != QueryStatus.CLOSED,
            "can_accept": permissions.is_liaison(user) and query.status in selectors.UNRESOLVED_QUERY,
            "can_reopen": permissions.is_liaison(user) and query.status != QueryStatus.OPEN,
        },
    )


@login_required
@require_POST
def query_raise(request, pk):
    submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
    raised = {}

    def raise_it():
        raised["query"] = services.query_raise(
            submission=submission,
            user=request.user,
            subject=request.POST.get("subject", ""),
            body=request.POST.get("body", ""),
            rule_code=request.POST.get("rule_code", ""),
            husid=request.POST.get("husid", ""),
            numhus=request.POST.get("numhus", ""),
            blocks_approval=request.POST.get("blocks_approval") == "on",
        )

    if _attempt(
        request, raise_it, f"Query raised with {submission.provider.name}. They will see it on their dashboard."
    ):
        return redirect("query_detail", pk=raised["query"].pk)
    return redirect("submission_detail", pk=pk)


def _query_action(request, pk, call, success):
    query = _visible_query(request, pk)
    _attempt(request, lambda: call(query=query, user=request.user, body=request.POST.get("body", "")), success)
    return redirect("query_detail", pk=pk)


@login_required
@require_POST
def query_respond(request, pk):
    return _query_action(request, pk, services.query_respond, "Response sent. Liaison will accept it or ask for more.")


@login_required
@require_POST
def query_accept(request, pk):
    return _query_action(request, pk, services.query_accept, "Query accepted and closed.")


@login_required
@require_POST
def query_reopen(request, pk):
    return _query_action(request, pk, services.query_reopen, "Query reopened: it is waiting for the provider again.")


# --- sign-off -----------------------------------------------------------------------------------


def _provider_collection(request, ukprn, reference):
    provider = permissions.visible_providers(request.user).filter(ukprn=ukprn).first()
    collection = Collection.objects.filter(reference=reference).first()
    if provider is None or collection is None:
        raise Http404("No such provider or collection.")
    return provider, collection


@liaison_required
@require_POST
def collection_sign_off(request, ukprn, reference):
    provider, collection = _provider_collection(request, ukprn, reference)
    _attempt(
        request,
        lambda: services.collection_sign_off(provider=provider, collection=collection, user=request.user),
        f"{collection.reference} signed off for {provider.name}.",
    )
    return redirect_back(request, "liaison_grid")


@liaison_required
@require_POST
def collection_return(request, ukprn, reference):
    provider, collection = _provider_collection(request, ukprn, reference)
    _attempt(
        request,
        lambda: services.collection_return(
            provider=provider,
            collection=collection,
            user=request.user,
            subject=request.POST.get("subject", ""),
            body=request.POST.get("body", ""),
        ),
        f"{collection.reference} returned to {provider.name} with a query they must answer before approving again.",
    )
    return redirect_back(request, "liaison_grid")


# --- liaison grid -------------------------------------------------------------------------------

STATE_ORDER = {name: i for i, name in enumerate(selectors.STATES)}


def _grid(request):
    refs = [r for r in request.GET.getlist("collection") if r]
    grid = selectors.liaison_grid(
        user=request.user,
        collections=refs or None,
        include_closed=request.GET.get("show") == "all",
        search=request.GET.get("q", ""),
        state=request.GET.get("state", "") if request.GET.get("state", "") in selectors.STATES else "",
    )
    sort = request.GET.get("sort") or "provider"
    key = sort.removeprefix("-")
    reverse = sort.startswith("-")
    if key == "ukprn":
        grid.rows.sort(key=lambda row: row.provider.ukprn, reverse=reverse)
    elif key.startswith("state-"):
        # Sort by one collection's column: its cells' states in the grid's order.
        ref = key.removeprefix("state-")
        index = next((i for i, c in enumerate(grid.collections) if c.reference == ref), None)
        if index is not None:
            grid.rows.sort(key=lambda row: (STATE_ORDER[row.cells[index].state], row.provider.name), reverse=reverse)
    else:
        sort = "-provider" if reverse else "provider"
        grid.rows.sort(key=lambda row: row.provider.name.lower(), reverse=reverse)
    return grid, sort, refs


@liaison_required
@require_GET
def liaison_grid(request):
    grid, sort, refs = _grid(request)
    return render(
        request,
        "review/grid.html",
        {
            "grid": grid,
            "states": selectors.STATES,
            "offered_collections": selectors.grid_collections(include_closed=request.GET.get("show") == "all"),
            "show_all": request.GET.get("show") == "all",
            "selected_collections": refs,
            "q": request.GET.get("q", ""),
            "state": request.GET.get("state", ""),
            "active_sorts": [sort],
            "now": timezone.now(),
        },
    )


@liaison_required
@require_GET
def liaison_provider(request, ukprn):
    """One provider as liaison sees it: collections, submissions, queries, overrides, people."""
    provider = get_object_or_404(permissions.visible_providers(request.user), ukprn=ukprn)
    return render(
        request,
        "review/provider.html",
        {"overview": selectors.provider_overview(user=request.user, provider=provider), "now": timezone.now()},
    )


@liaison_required
@require_GET
def liaison_grid_csv(request):
    grid, _, _ = _grid(request)
    rows = selectors.liaison_grid_csv_rows(grid)
    header = next(rows)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(f"collection-states-{stamp}.csv", header, rows)


# --- notification emails (the form is on the account page, added by review.page_hooks) ----------


@require_POST
@login_required
def notification_preferences(request):
    off = services.notification_preferences_set(user=request.user, enabled=request.POST.getlist("kind"))
    messages.success(
        request, "Your email choices were saved." + (" Some emails are turned off." if off else " You get every email.")
    )
    return redirect("account")
