"""REST API v1 for contact details: shared details and their reasons, and one graduate at a time
(changes become a new submission, as in the web form). Thin over contacts.selectors and services.

Provider staff act on their own provider; liaison read a provider's data naming it with `ukprn`
and change nothing (the services refuse them: 403)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.response import Response

from accounts import permissions
from collections_app.api import STATUS_ACCEPTED, submission_status_response
from collections_app.models import Collection, CollectionKind
from core.api import INVALID, NOT_FOUND, REFUSED, PortalPagination
from core.errors import ActionRefused

from . import selectors, services
from .serializers import (
    GraduateCreateSerializer,
    GraduateListSerializer,
    GraduateSerializer,
    GraduateWriteSerializer,
    SharedDetailSerializer,
    SharedFilterSerializer,
    SharedReasonWriteSerializer,
)
from .xmlwrite import DETAIL_ELEMENTS

REFERENCE = OpenApiParameter("reference", str, OpenApiParameter.PATH, description="Collection reference, e.g. C23071.")
HUSID = OpenApiParameter("husid", str, OpenApiParameter.PATH, description="The graduate's HUSID.")
NUMHUS = OpenApiParameter("numhus", str, OpenApiParameter.PATH, description="The graduate's NUMHUS.")
UKPRN = OpenApiParameter("ukprn", str, description="The provider's UKPRN (liaison, who must name one).")


def _collection(reference: str) -> Collection:
    return get_object_or_404(Collection, reference=reference, kind=CollectionKind.CONTACT_DETAILS)


def _provider(request, *, write: bool = False):
    """Provider staff: their own provider. Liaison: the one named by `ukprn` (they only read)."""
    user = request.user
    if permissions.is_provider_staff(user):
        return user.provider
    if write:
        raise ActionRefused(services.STAFF_ONLY, code="forbidden")
    ukprn = (request.query_params.get("ukprn") or "").strip()
    if not ukprn:
        raise ActionRefused("Name the provider with ?ukprn=.", code="ukprn_required")
    return get_object_or_404(permissions.visible_providers(user), ukprn=ukprn)


@extend_schema(tags=["contact details"], parameters=[REFERENCE])
class SharedDetailsView(generics.GenericAPIView):
    serializer_class = SharedDetailSerializer
    pagination_class = PortalPagination

    @extend_schema(
        summary="List the contact details shared between graduates",
        description="Every email and phone (compared normalised) given for two or more graduates in the "
        "provider's current submission, each with its graduates (element and value as given) and the reason "
        "recorded for it, if any. Filter by `family` and `reason`. Liaison name the provider with `ukprn`.",
        parameters=[SharedFilterSerializer],
        responses={200: SharedDetailSerializer(many=True), 400: REFUSED, 404: NOT_FOUND},
    )
    def get(self, request, reference):
        collection = _collection(reference)
        filters = SharedFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        provider = _provider(request)
        current = selectors.current_contact_submission(provider=provider, collection=collection)
        reason = filters.validated_data.get("reason")
        groups = (
            selectors.shared_details(
                submission=current,
                family=filters.validated_data.get("family"),
                has_reason={"with": True, "without": False}.get(reason or ""),
            )
            if current
            else []
        )
        page = self.paginate_queryset(groups)
        return self.get_paginated_response(SharedDetailSerializer(page, many=True).data)

    @extend_schema(
        summary="Record (or remove) the reason for a shared detail (provider staff)",
        description="Records why one shared detail is right (`reason`, and a `note`, required for `other`); with "
        "`remove: true` removes it instead. The reason is kept for the collection and carries to later uploads; "
        "it clears GO.EMAIL.10 / GO.PHONE.06 when the rules next run (re-check the submission, or upload). "
        "Refused (400) for a detail not shared in the current submission and after the collection closes; "
        "liaison get 403. Answers the shared detail as it now stands.",
        request=SharedReasonWriteSerializer,
        responses={200: SharedDetailSerializer, 400: REFUSED, 403: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request, reference):
        collection = _collection(reference)
        provider = _provider(request, write=True)
        data = SharedReasonWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        common = {"provider": provider, "collection": collection, "user": request.user}
        common |= {"family": values["family"], "normalised": values["normalised"]}
        if values["remove"]:
            services.shared_reason_remove(**common)
        else:
            services.shared_reason_record(**common, reason=values["reason"], note=values["note"])
        current = selectors.current_contact_submission(provider=provider, collection=collection)
        group = next(
            g
            for g in selectors.shared_details(submission=current, family=values["family"])
            if g.normalised == values["normalised"].strip()
        )
        return Response(SharedDetailSerializer(group).data)


@extend_schema(tags=["contact details"], parameters=[REFERENCE])
class GraduatesView(generics.GenericAPIView):
    serializer_class = GraduateListSerializer
    pagination_class = PortalPagination

    @extend_schema(
        summary="List the graduates of the current submission",
        description="In file order; `search` is a HUSID prefix. Liaison name the provider with `ukprn`.",
        parameters=[UKPRN, OpenApiParameter("search", str, description="HUSID prefix.")],
        responses={200: GraduateListSerializer(many=True), 400: REFUSED, 404: NOT_FOUND},
    )
    def get(self, request, reference):
        collection = _collection(reference)
        provider = _provider(request)
        current = selectors.current_contact_submission(provider=provider, collection=collection)
        if current is None:
            return self.get_paginated_response(self.paginate_queryset([]))
        graduates = selectors.graduates_for(submission=current, search=request.query_params.get("search"))
        page = self.paginate_queryset(graduates)
        return self.get_paginated_response(GraduateListSerializer(page, many=True).data)

    @extend_schema(
        summary="Add a graduate (provider staff)",
        description="A complete new file: the current submission's graduates as stored, with this graduate "
        "added at the end, submitted like an upload (202: poll `url`); it must be approved again. Refused (400) "
        "while a submission is being processed, when the collection is closed, or when the graduate is already "
        "in the file; liaison get 403.",
        request=GraduateCreateSerializer,
        responses={202: STATUS_ACCEPTED, 400: REFUSED, 403: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request, reference):
        collection = _collection(reference)
        provider = _provider(request, write=True)
        data = GraduateCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        current = selectors.current_contact_submission(provider=provider, collection=collection)
        if current and selectors.graduate_get(submission=current, husid=values["husid"], numhus=values["numhus"]):
            raise ActionRefused(
                f"Graduate {values['husid']} / {values['numhus']} is already in the file: PUT to change them.",
                code="already_present",
            )
        submission = services.graduate_save(
            provider=provider,
            collection=collection,
            husid=values["husid"],
            numhus=values["numhus"],
            gradstatus=values["gradstatus"],
            details=dict(values["details"]),
            user=request.user,
        )
        return submission_status_response(request, submission)


@extend_schema(tags=["contact details"], parameters=[REFERENCE, HUSID, NUMHUS])
class GraduateView(generics.GenericAPIView):
    serializer_class = GraduateSerializer

    def _graduate(self, request, collection, husid, numhus, *, write=False):
        provider = _provider(request, write=write)
        current = selectors.current_contact_submission(provider=provider, collection=collection)
        graduate = selectors.graduate_get(submission=current, husid=husid, numhus=numhus) if current else None
        if graduate is None:
            raise Http404("No such graduate in the current submission.")
        return provider, graduate

    @extend_schema(
        summary="Get one graduate as stored",
        description="From the provider's current submission: GRADSTATUS and the details grouped by element, "
        "values as given. Emails have no order: they are listed sorted, and none is first. Liaison name the "
        "provider with `ukprn`.",
        parameters=[UKPRN],
        responses={200: GraduateSerializer, 400: REFUSED, 404: NOT_FOUND},
    )
    def get(self, request, reference, husid, numhus):
        _, graduate = self._graduate(request, _collection(reference), husid, numhus)
        details = selectors.graduate_details(graduate)
        details["EMAIL"] = sorted(details.get("EMAIL", []), key=str.lower)
        data = {
            "husid": graduate.husid,
            "numhus": graduate.numhus,
            "gradstatus": graduate.gradstatus,
            "line": graduate.line,
            "submission": graduate.submission_id,
            "details": {element: details.get(element, []) for element in DETAIL_ELEMENTS},
        }
        return Response(GraduateSerializer(data).data)

    @extend_schema(
        summary="Change one graduate (provider staff)",
        description="Replaces the graduate's GRADSTATUS and details (values as given, up to 3 per element, "
        "checked as the XSD would). A complete new file, every other graduate as stored, is submitted like an "
        "upload (202: poll `url`) and must be approved again. Refused (400) while a submission is being "
        "processed or after the collection closes; liaison get 403; a graduate not in the provider's current "
        "submission is 404.",
        request=GraduateWriteSerializer,
        responses={202: STATUS_ACCEPTED, 400: INVALID, 403: REFUSED, 404: NOT_FOUND},
    )
    def put(self, request, reference, husid, numhus):
        collection = _collection(reference)
        provider, graduate = self._graduate(request, collection, husid, numhus, write=True)
        data = GraduateWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        submission = services.graduate_save(
            provider=provider,
            collection=collection,
            husid=graduate.husid,
            numhus=graduate.numhus,
            gradstatus=data.validated_data["gradstatus"],
            details=dict(data.validated_data["details"]),
            user=request.user,
        )
        return submission_status_response(request, submission)

    @extend_schema(
        summary="Delete one graduate (provider staff)",
        description="A complete new file without the graduate, submitted like an upload (202: poll `url`). "
        "Refused as a change is.",
        request=None,
        responses={202: STATUS_ACCEPTED, 400: REFUSED, 403: REFUSED, 404: NOT_FOUND},
    )
    def delete(self, request, reference, husid, numhus):
        collection = _collection(reference)
        provider, graduate = self._graduate(request, collection, husid, numhus, write=True)
        submission = services.graduate_delete(
            provider=provider, collection=collection, husid=graduate.husid, numhus=graduate.numhus, user=request.user
        )
        return submission_status_response(request, submission)
