"""REST API v1: the survey feed, GET /api/v1/survey/{reference}/contacts/ (survey platform; liaison may
read it to support the platform; provider staff get 403)."""

from __future__ import annotations

from datetime import UTC

from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import renderers
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from accounts import permissions
from core.api import NOT_FOUND, REFUSED, CSVRenderer, PortalPagination, problem
from core.errors import ActionRefused

from . import exports, selectors
from .serializers import ChangesPageSerializer, FeedGraduateSerializer, FeedPageSerializer, GraduateChangeSerializer


def _parse_time(request, name: str):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    raw = raw.strip()
    # A "+01:00" offset left unencoded in a query string arrives as " 01:00".
    value = parse_datetime(raw) or parse_datetime(raw[:-6] + "+" + raw[-5:] if raw[-6:-5] == " " else raw)
    if value is None:
        raise ActionRefused(f"`{name}` must be an ISO 8601 date and time, e.g. 2026-11-28T04:00:00Z.", code="bad_time")
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


class FeedPagination(PortalPagination):
    """Page links keep `until`, so every page of one read describes the same moment."""

    def __init__(self, *, until: str):
        self.until = until

    def get_next_link(self):
        link = super().get_next_link()
        return replace_query_param(link, "until", self.until) if link else None

    def get_previous_link(self):
        link = super().get_previous_link()
        return replace_query_param(link, "until", self.until) if link else None


FEED_PARAMETERS = [
    OpenApiParameter("reference", str, OpenApiParameter.PATH, description="A contact details collection, e.g. C23071."),
    OpenApiParameter(
        "since",
        OpenApiTypes.DATETIME,
        description="Only what changed in the approved data after this time (pass the previous answer's "
        "`generated_at`): per graduate, the details added and removed, graduates added and removed, "
        "GRADSTATUS changes.",
    ),
    OpenApiParameter(
        "until",
        OpenApiTypes.DATETIME,
        description="The time to describe (default, and at the latest: a minute ago, so that every approval "
        "made before it has committed). Page links carry it so pages agree.",
    ),
    OpenApiParameter("format", str, enum=["json", "csv"], description="`csv`: the whole answer as one CSV file."),
    OpenApiParameter("page", int),
    OpenApiParameter("page_size", int, description="Up to 1000; default 50."),
]


@extend_schema(tags=["survey"])
class SurveyContactsView(APIView):
    permission_classes = [permissions.IsSurveyFeedReader]
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]

    @extend_schema(
        summary="The survey feed: a cohort's approved contact details, or the changes since a time",
        description="For the survey platform's service account (its API token); agency liaison staff may read it "
        "too, to support the platform; provider staff get 403. Only approved data: for each provider, the "
        "submission whose approval is current (at `until`); nothing that was not approved, nothing from an "
        "approval a newer one replaced. Emails are a set (sorted alphabetically, lower-cased; none is first); "
        "phones come mobiles first (UKMOB, then non-UK mobiles, then UKTEL and other INTTEL), each with its "
        "element and E.164. With `since`: per graduate what changed after re-approvals, for every provider whose "
        "approval changed since then (no approval then: everything is added). `generated_at` is the time the "
        "answer describes (a minute before the call: an approval shows up in the next poll after that): pass it "
        "as the next `since`. "
        "CSV (`?format=csv` or `Accept: text/csv`, not paged; `generated_at` in the X-Generated-At header): "
        "one row per graduate, "
        "columns " + ", ".join(exports.FEED_HEADER) + " (EMAILS joined by '; ', PHONES in order as ELEMENT:E164 "
        "joined by '; '); with `since`: " + ", ".join(exports.CHANGES_HEADER) + ".",
        parameters=FEED_PARAMETERS,
        responses={
            (200, "application/json"): PolymorphicProxySerializer(
                component_name="SurveyFeedPage",
                serializers=[FeedPageSerializer, ChangesPageSerializer],
                resource_type_field_name=None,
            ),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="A UTF-8 CSV file, streamed."),
            (400, "application/json"): REFUSED,
            (403, "application/json"): OpenApiResponse(description="Not the survey platform or liaison."),
            (404, "application/json"): NOT_FOUND,
        },
    )
    def get(self, request, reference):
        collection = selectors.contact_collection_get(reference=reference)
        if collection is None:
            raise Http404("No such contact details collection.")
        # Describe a moment a little in the past: every approval made before it has committed by now,
        # so the next call's `since` (this `generated_at`) can never skip one still in flight.
        settled = timezone.now() - selectors.SETTLE
        since, until = _parse_time(request, "since"), _parse_time(request, "until")
        until = min(until, settled) if until else settled
        if since is not None and since > until:
            return problem(
                400,
                "bad_time",
                "`since` is later than the time this answer can describe (`until`, at the latest a minute ago): "
                "pass the previous answer's `generated_at`.",
            )
        generated_at = until.astimezone(UTC).isoformat().replace("+00:00", "Z")
        stamp = until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        # The negotiated renderer, not the query string: `Accept: text/csv` must get the file too (it
        # used to get the JSON page passed through the CSV renderer).
        as_csv = request.accepted_renderer.format == CSVRenderer.format
        if since is not None:
            changes = selectors.feed_changes(collection=collection, since=since, until=until)
            if as_csv:
                return exports.changes_csv(changes, f"{reference}-survey-changes-{stamp}.csv", generated_at)
            paginator = FeedPagination(until=generated_at)
            page = paginator.paginate_queryset(changes, request, view=self)
            return self._page(
                paginator, reference, generated_at, GraduateChangeSerializer(page, many=True).data, since=since
            )
        approved = selectors.approved_submissions_at(collection=collection, at=until)
        if as_csv:
            return exports.feed_csv(
                selectors.feed_iter(approved=approved), f"{reference}-survey-contacts-{stamp}.csv", generated_at
            )
        paginator = FeedPagination(until=generated_at)
        page = paginator.paginate_queryset(selectors.feed_graduates(approved=approved), request, view=self)
        graduates = selectors.feed_resolve(approved=approved, graduates=page)
        return self._page(paginator, reference, generated_at, FeedGraduateSerializer(graduates, many=True).data)

    @staticmethod
    def _page(paginator, reference, generated_at, results, since=None) -> Response:
        data = {"collection": reference, "generated_at": generated_at}
        if since is not None:
            data["since"] = since.astimezone(UTC).isoformat().replace("+00:00", "Z")
        data.update(
            count=paginator.page.paginator.count,
            next=paginator.get_next_link(),
            previous=paginator.get_previous_link(),
            results=results,
        )
        return Response(data)
