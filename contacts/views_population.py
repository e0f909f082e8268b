"""The population page of a contact details collection, its downloads and "Rebuild now".

Provider staff see their own provider's population; liaison choose a provider with
?provider=<UKPRN> (as on the collection page). A provider's staff naming another provider get 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.models import Provider
from collections_app.models import Collection, CollectionKind
from collections_app.selectors import collection_get
from core.csv import csv_response
from core.errors import ActionRefused

from . import population as pop


def contact_collection_or_404(reference: str) -> Collection:
    collection = collection_get(reference=reference)
    if collection is None or collection.kind != CollectionKind.CONTACT_DETAILS:
        raise Http404("No such contact details collection.")
    return collection


def provider_for(user, ukprn: str | None) -> Provider | None:
    """Provider staff: their own (naming another is 404). Liaison: the one named, else None."""
    if permissions.is_provider_staff(user):
        if ukprn and ukprn != user.provider.ukprn:
            raise Http404("No such provider.")
        return user.provider
    if not ukprn:
        return None
    provider = permissions.visible_providers(user).filter(ukprn=ukprn).first()
    if provider is None:
        raise Http404("No such provider.")
    return provider


def _page_url(collection: Collection, provider: Provider | None, user) -> str:
    url = reverse("collection_population", args=[collection.reference])
    return url + (f"?provider={provider.ukprn}" if provider and permissions.is_liaison(user) else "")


def may_rebuild(user, provider: Provider | None) -> bool:
    return provider is not None and (permissions.is_liaison(user) or permissions.is_staff_of(user, provider))


@login_required
@require_GET
def population(request, reference):
    collection = contact_collection_or_404(reference)
    provider = provider_for(request.user, request.GET.get("provider"))
    context = {
        "collection": collection,
        "provider": provider,
        "providers": permissions.visible_providers(request.user) if permissions.is_liaison(request.user) else [],
        "window": collection.course_end_window,
        "build": None,
        "may_rebuild": may_rebuild(request.user, provider) and collection.phase() != "closed",
        "is_liaison": permissions.is_liaison(request.user),
    }
    if provider is not None:
        build = pop.population_current(provider=provider, collection=collection)
        context["build"] = build
        if build is None:
            context["source"] = pop.population_source(provider=provider, collection=collection)
            context["no_source_message"] = pop.no_source_message(collection)
        else:
            filters = {"husid": request.GET.get("husid", ""), "surname": request.GET.get("surname", "")}
            entries, sort = pop.population_entries(build=build, sort=request.GET.get("sort", ""), **filters)
            query = request.GET.copy()
            query.pop("page", None)
            context.update(
                {
                    "change_text": pop.population_change_text(build),
                    "counts": pop.population_counts(build=build),
                    "filters": filters,
                    "page": Paginator(entries, 50).get_page(request.GET.get("page")),
                    "query": query.urlencode(),
                    "active_sorts": [sort],
                    "history": pop.population_history(provider=provider, collection=collection)[:10],
                }
            )
    return render(request, "contacts/population.html", context)


@login_required
@require_POST
def population_rebuild(request, reference):
    collection = contact_collection_or_404(reference)
    provider = provider_for(request.user, request.POST.get("provider"))
    if provider is None:
        messages.error(request, "Choose a provider first: a population is built for one provider.")
        return redirect(_page_url(collection, provider, request.user))
    try:
        build = pop.population_build(provider=provider, collection=collection, user=request.user)
        messages.success(request, pop.population_change_text(build))
    except ActionRefused as refused:
        messages.error(request, refused.message)
    return redirect(_page_url(collection, provider, request.user))


def _current_build_or_404(request, reference):
    collection = contact_collection_or_404(reference)
    provider = provider_for(request.user, request.GET.get("provider"))
    build = pop.population_current(provider=provider, collection=collection) if provider else None
    if build is None:
        raise Http404("No population has been built for this provider and collection.")
    return build


@login_required
@require_GET
def population_csv(request, reference):
    build = _current_build_or_404(request, reference)
    entries, _ = pop.population_entries(build=build)
    return csv_response(pop.population_filename(build, "csv"), pop.POPULATION_HEADER, pop.population_rows(entries))


@login_required
@require_GET
def population_xml(request, reference):
    build = _current_build_or_404(request, reference)
    entries, _ = pop.population_entries(build=build)
    return xml_response(build, entries)


def xml_response(build, entries) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in pop.population_xml(build=build, entries=entries)),
        content_type="application/xml; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{pop.population_filename(build, "xml")}"'
    return response
