"""Contact details screens: shared details with their reasons, and the graduate web form. Thin:
reads from contacts.selectors, writes through contacts.services. Provider staff see their own
provider; liaison choose one with ?provider=UKPRN (as on the collection page) and only read."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts import permissions
from collections_app import selectors as collection_selectors
from collections_app import services as collection_services
from collections_app.models import Collection, CollectionKind
from collections_app.views import provider_for
from core.csv import csv_response
from core.errors import ActionRefused
from core.formatting import uk_datetime_text

from . import selectors, services
from .forms import GraduateForm
from .models import DetailFamily

SHARED_HEADER = [
    "Detail type",
    "Detail (normalised)",
    "Graduates",
    "HUSID",
    "NUMHUS",
    "Element",
    "Value as given",
    "Reason",
    "Note",
    "Reason recorded by",
    "Reason recorded at",
]


def contact_collection_or_404(reference: str) -> Collection:
    collection = collection_selectors.collection_get(reference=reference)
    if collection is None or collection.kind != CollectionKind.CONTACT_DETAILS:
        raise Http404("No such contact details collection.")
    return collection


def _provider_query(request, provider) -> str:
    """?provider=UKPRN for liaison (they choose the provider), nothing for provider staff."""
    return f"?{urlencode({'provider': provider.ukprn})}" if provider and permissions.is_liaison(request.user) else ""


def _context(request, collection, provider) -> dict:
    current = selectors.current_contact_submission(provider=provider, collection=collection) if provider else None
    return {
        "collection": collection,
        "provider": provider,
        "providers": permissions.visible_providers(request.user) if permissions.is_liaison(request.user) else [],
        "current": current,
        "provider_query": _provider_query(request, provider),
        "may_change": provider is not None and permissions.is_staff_of(request.user, provider),
        "is_open": collection.phase() != "closed",
    }


# -- shared details ------------------------------------------------------------------------------


def _shared_filters(request) -> dict:
    family = request.GET.get("family") or None
    reason = request.GET.get("reason")
    return {
        "family": family if family in DetailFamily.values else None,
        "has_reason": {"with": True, "without": False}.get(reason or ""),
    }


@login_required
@require_http_methods(["GET", "POST"])
def shared_details(request, reference):
    collection = contact_collection_or_404(reference)
    provider = provider_for(request)
    if request.method == "POST":
        return _shared_reason_post(request, collection, provider)
    context = _context(request, collection, provider)
    filters = _shared_filters(request)
    groups = selectors.shared_details(submission=context["current"], **filters) if context["current"] else []
    query = request.GET.copy()
    query.pop("page", None)
    page = Paginator(groups, 50).get_page(request.GET.get("page"))
    filter_query = query.copy()
    filter_query.pop("provider", None)
    return render(
        request,
        "contacts/shared_details.html",
        {
            **context,
            "groups": page,
            "page": page,
            "query": query.urlencode(),
            "total": len(groups),
            "filters": filters,
            "reason_filter": request.GET.get("reason", ""),
            "filter_query": filter_query.urlencode(),
            "can_recheck": context["current"] is not None
            and collection_services.submission_is_recheckable(submission=context["current"], user=request.user),
        },
    )


def _shared_reason_post(request, collection, provider):
    back = reverse("shared_details", args=[collection.reference]) + _provider_query(request, provider)
    if provider is None:
        messages.error(request, services.STAFF_ONLY)
        return redirect(back)
    data = request.POST
    try:
        if data.get("remove"):
            services.shared_reason_remove(
                provider=provider,
                collection=collection,
                family=data.get("family", ""),
                normalised=data.get("normalised", ""),
                user=request.user,
            )
            messages.success(request, f"Reason removed for {data.get('normalised', '')}.")
        else:
            services.shared_reason_record(
                provider=provider,
                collection=collection,
                family=data.get("family", ""),
                normalised=data.get("normalised", ""),
                reason=data.get("reason", ""),
                note=data.get("note", ""),
                user=request.user,
            )
            messages.success(
                request,
                f"Reason recorded for {data.get('normalised', '')}. It clears the shared-detail error when the rules "
                "next run: re-check the current submission, or upload a new file.",
            )
    except ActionRefused as refused:
        messages.error(request, refused.message)
    return redirect(back)


@login_required
@require_GET
def shared_details_csv(request, reference):
    collection = contact_collection_or_404(reference)
    provider = provider_for(request)
    if provider is None:  # liaison: choose the provider first
        return redirect("shared_details", reference=reference)
    current = selectors.current_contact_submission(provider=provider, collection=collection)
    groups = selectors.shared_details(submission=current, **_shared_filters(request)) if current else []

    def rows():
        for group in groups:
            reason = group.reason
            for graduate in group.graduates:
                yield [
                    group.family_label,
                    group.normalised,
                    group.graduate_count,
                    graduate.husid,
                    graduate.numhus,
                    graduate.element,
                    graduate.value,
                    reason.get_reason_display() if reason else "",
                    reason.note if reason else "",
                    reason.recorded_by.display_name if reason else "",
                    uk_datetime_text(reason.recorded_at) if reason else "",
                ]

    return csv_response(f"{collection.reference}-{provider.ukprn}-shared-details.csv", SHARED_HEADER, rows())


# -- graduates -----------------------------------------------------------------------------------


@login_required
@require_GET
def graduate_list(request, reference):
    collection = contact_collection_or_404(reference)
    provider = provider_for(request)
    context = _context(request, collection, provider)
    search = request.GET.get("q", "").strip()
    current = context["current"]
    page = None
    if current is not None:
        graduates = selectors.graduates_for(submission=current, search=search)
        page = Paginator(graduates, 50).get_page(request.GET.get("page"))
    build = selectors.population_build(provider=provider, collection=collection) if provider else None
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "contacts/graduate_list.html",
        {
            **context,
            "page": page,
            "search": search,
            "query": query.urlencode(),
            "missing": selectors.population_not_in(build=build, submission=current)[:200] if build else None,
            "population": build,
        },
    )


def _after_change(request, submission, what: str):
    messages.success(
        request,
        f"{what} Submission {submission.pk} is a complete new file with this change; it is now checked like an "
        "upload (schema, then every rule). Once it passes it must be approved again before the change reaches the "
        "survey platform.",
    )
    return redirect("submission_detail", pk=submission.pk)


def _change_context(request, collection, provider) -> dict:
    """The graduate pages' context, with `refusal`: why saving would be refused now (no checked
    file, an upload still running, the collection closed, not the provider's staff), so the page
    says that instead of offering a form."""
    return {
        **_context(request, collection, provider),
        "refusal": services.graduate_change_refusal(provider=provider, collection=collection, user=request.user),
    }


def _form_page(request, collection, provider, form, *, graduate=None, husid="", numhus=""):
    return render(
        request,
        "contacts/graduate_form.html",
        {
            **_change_context(request, collection, provider),
            **{"form": form, "graduate": graduate, "husid": husid, "numhus": numhus},
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def graduate_edit(request, reference, husid, numhus):
    collection = contact_collection_or_404(reference)
    provider = provider_for(request)
    if provider is None:  # liaison: choose the provider first
        return redirect("graduate_list", reference=reference)
    current = selectors.current_contact_submission(provider=provider, collection=collection)
    graduate = selectors.graduate_get(submission=current, husid=husid, numhus=numhus) if current else None
    if graduate is None:
        raise Http404("No such graduate in the current submission.")
    if request.method == "POST":
        form = GraduateForm(request.POST)
        if form.is_valid():
            try:
                submission = services.graduate_save(
                    provider=provider,
                    collection=collection,
                    husid=husid,
                    numhus=numhus,
                    gradstatus=form.cleaned_data["gradstatus"],
                    details=form.details(),
                    user=request.user,
                )
            except ActionRefused as refused:
                messages.error(request, refused.message)
                return redirect(request.path + _provider_query(request, provider))
            return _after_change(request, submission, f"Graduate {husid} / {numhus} saved.")
    else:
        form = GraduateForm(initial=GraduateForm.initial_for(graduate.gradstatus, selectors.graduate_details(graduate)))
    return _form_page(request, collection, provider, form, graduate=graduate, husid=husid, numhus=numhus)


@login_required
@require_http_methods(["GET", "POST"])
def graduate_new(request, reference):
    collection = contact_collection_or_404(reference)
    provider = provider_for(request)
    if provider is None:
        return redirect("graduate_list", reference=reference)
    current = selectors.current_contact_submission(provider=provider, collection=collection)
    if request.method == "POST":
        form = GraduateForm(request.POST, identity=True)
        if form.is_valid():
            husid, numhus = form.cleaned_data["husid"], form.cleaned_data["numhus"]
            if current and selectors.graduate_get(submission=current, husid=husid, numhus=numhus):
                form.add_error(None, f"Graduate {husid} / {numhus} is already in the file: change them instead.")
            else:
                try:
                    submission = services.graduate_save(
                        provider=provider,
                        collection=collection,
                        husid=husid,
                        numhus=numhus,
                        gradstatus=form.cleaned_data["gradstatus"],
                        details=form.details(),
                        user=request.user,
                    )
                except ActionRefused as refused:
                    messages.error(request, refused.message)
                    return redirect(request.path + _provider_query(request, provider))
                return _after_change(request, submission, f"Graduate {husid} / {numhus} added.")
    else:
        form = GraduateForm(
            initial={"husid": request.GET.get("husid", ""), "numhus": request.GET.get("numhus", "")}, identity=True
        )
    return _form_page(request, collection, provider, form)


@login_required
@require_http_methods(["GET", "POST"])
def graduate_delete(request, reference, husid, numhus):
    collection = contact_collection_or_404(reference)
    provider = provider_for(request)
    if provider is None:
        return redirect("graduate_list", reference=reference)
    current = selectors.current_contact_submission(provider=provider, collection=collection)
    graduate = selectors.graduate_get(submission=current, husid=husid, numhus=numhus) if current else None
    if graduate is None:
        raise Http404("No such graduate in the current submission.")
    if request.method == "POST":
        try:
            submission = services.graduate_delete(
                provider=provider, collection=collection, husid=husid, numhus=numhus, user=request.user
            )
        except ActionRefused as refused:
            messages.error(request, refused.message)
            return redirect(
                reverse("graduate_edit", args=[reference, husid, numhus]) + _provider_query(request, provider)
            )
        return _after_change(request, submission, f"Graduate {husid} / {numhus} deleted.")
    return render(
        request,
        "contacts/graduate_delete.html",
        {**_change_context(request, collection, provider), "graduate": graduate},
    )
