"""REST API v1 for review and approval: thin views over review.services and review.selectors.

Foreign providers' objects are 404 (querysets scoped by accounts.permissions); a role that
may not act gets 403 (the services raise PermissionDenied); a refused action is 400 with a `code`.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from accounts import permissions
from collections_app import selectors as collection_selectors
from collections_app.api import SUBMISSION_ID
from collections_app.models import Collection
from core.api import LIAISON_ONLY, NOT_FOUND, DetailSerializer, KeysetAPIPagination, ProblemSerializer, problem

from . import selectors, services
from .models import Query
from .serializers import (
    ApprovalCheckSerializer,
    ApprovalSerializer,
    DecisionSerializer,
    GridSerializer,
    MessageSerializer,
    OverrideCreateSerializer,
    OverrideSerializer,
    QueryCreateSerializer,
    QuerySerializer,
    ReturnSerializer,
    RuleToleranceSerializer,
    RuleToleranceUpdateSerializer,
    SignOffSerializer,
)

REFUSED = OpenApiResponse(ProblemSerializer, description="Refused: `code` and a `detail` saying why and what to do.")
FORBIDDEN = OpenApiResponse(DetailSerializer, description="The caller's role does not allow this.")
ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The object's id.")
REFERENCE = OpenApiParameter("reference", str, OpenApiParameter.PATH, description="Collection reference, e.g. C23051.")
CODE = OpenApiParameter("code", str, OpenApiParameter.PATH, description="A warning rule's code.")
UKPRN = OpenApiParameter("ukprn", str, OpenApiParameter.PATH, description="The provider's UKPRN.")


class SubmissionApproveView(generics.GenericAPIView):
    serializer_class = ApprovalSerializer

    @extend_schema(
        tags=["review"],
        summary="What stands between a submission and approval",
        description="The same checks as approving, without approving: each refusal with a sentence saying what "
        "to do, and every warning rule with outstanding failures against its tolerance and any override.",
        parameters=[SUBMISSION_ID],
        responses={200: ApprovalCheckSerializer, 404: NOT_FOUND},
    )
    def get(self, request, pk):
        submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
        refusals = selectors.approval_refusals(submission=submission)
        return Response(
            ApprovalCheckSerializer(
                {
                    "can_approve": not refusals,
                    "refusals": [{"code": code, "detail": detail} for code, detail in refusals],
                    "warnings": selectors.warnings_over_tolerance(submission=submission),
                }
            ).data
        )

    @extend_schema(
        tags=["review"],
        summary="Approve a submission (provider approver)",
        description="Approves the provider's current passed upload, recording who, when and the file's SHA-256; "
        "supersedes the previous approval. Refused (400) after the final-updates deadline, for a submission that "
        "is not the latest completed upload or has not passed, while a warning is over its tolerance without an "
        "approved override, or while a query that must be answered before approval has no response. After the "
        "approval deadline the approval is recorded as `late`.",
        parameters=[SUBMISSION_ID],
        request=None,
        responses={201: ApprovalSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request, pk):
        submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
        approval = services.submission_approve(submission=submission, user=request.user)
        return Response(ApprovalSerializer(approval).data, status=status.HTTP_201_CREATED)


class SubmissionOverridesView(generics.GenericAPIView):
    serializer_class = OverrideSerializer
    pagination_class = KeysetAPIPagination

    @extend_schema(
        tags=["review"],
        summary="List override requests for a submission's collection",
        description="Every request and decision for the provider's collection (overrides carry across uploads).",
        parameters=[SUBMISSION_ID],
        responses={200: OverrideSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, pk):
        submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
        page = self.paginate_queryset(selectors.overrides_for(submission=submission))
        return self.get_paginated_response(OverrideSerializer(page, many=True).data)

    @extend_schema(
        tags=["review"],
        summary="Request a tolerance override (provider staff)",
        parameters=[SUBMISSION_ID],
        request=OverrideCreateSerializer,
        responses={201: OverrideSerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request, pk):
        submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
        data = OverrideCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        override = services.override_request(submission=submission, user=request.user, **data.validated_data)
        return Response(OverrideSerializer(override).data, status=status.HTTP_201_CREATED)


class OverrideDecideView(generics.GenericAPIView):
    serializer_class = OverrideSerializer

    @extend_schema(
        tags=["review"],
        summary="Approve or refuse an override request (liaison)",
        parameters=[ID],
        request=DecisionSerializer,
        responses={200: OverrideSerializer, 400: REFUSED, 403: LIAISON_ONLY, 404: NOT_FOUND},
    )
    def post(self, request, pk):
        override = get_object_or_404(selectors.overrides_visible_to(user=request.user), pk=pk)
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        override = services.override_decide(override=override, user=request.user, **data.validated_data)
        return Response(OverrideSerializer(override).data)


class QueryListView(generics.GenericAPIView):
    serializer_class = QuerySerializer
    pagination_class = KeysetAPIPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Query.objects.none()
        params = self.request.query_params
        queryset = selectors.queries_visible_to(user=self.request.user).prefetch_related("messages__author")
        if params.get("status"):
            queryset = queryset.filter(status=params["status"])
        if params.get("collection"):
            queryset = queryset.filter(collection__reference=params["collection"])
        if params.get("ukprn"):
            queryset = queryset.filter(provider__ukprn=params["ukprn"])
        return queryset

    @extend_schema(
        tags=["review"],
        summary="List queries",
        description="Liaison see every provider's; provider staff their own. Newest activity first.",
        parameters=[
            OpenApiParameter("status", str, enum=["open", "answered", "closed"]),
            OpenApiParameter("collection", str, description="Collection reference."),
            OpenApiParameter("ukprn", str, description="Provider UKPRN (liaison)."),
        ],
        responses={200: QuerySerializer(many=True)},
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(QuerySerializer(page, many=True).data)

    @extend_schema(
        tags=["review"],
        summary="Raise a query on a submission (liaison)",
        request=QueryCreateSerializer,
        responses={201: QuerySerializer, 400: REFUSED, 403: LIAISON_ONLY, 404: NOT_FOUND},
    )
    def post(self, request):
        data = QueryCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        permissions.require(permissions.is_liaison(request.user), "Only Liaison can raise a query.")
        submission = collection_selectors.submission_get_or_404(user=request.user, pk=fields.pop("submission"))
        query = services.query_raise(submission=submission, user=request.user, **fields)
        return Response(QuerySerializer(query).data, status=status.HTTP_201_CREATED)


class QueryDetailView(generics.GenericAPIView):
    serializer_class = QuerySerializer

    def get_query(self, pk) -> Query:
        return get_object_or_404(selectors.queries_visible_to(user=self.request.user), pk=pk)

    @extend_schema(
        tags=["review"], summary="Get a query with its messages", parameters=[ID],
        responses={200: QuerySerializer, 404: NOT_FOUND},
    )  # fmt: skip
    def get(self, request, pk):
        return Response(QuerySerializer(self.get_query(pk)).data)


def _query_action(service, summary: str, who: str):
    class QueryActionView(QueryDetailView):
        @extend_schema(
            tags=["review"],
            summary=f"{summary} ({who})",
            parameters=[ID],
            request=MessageSerializer,
            responses={200: QuerySerializer, 400: REFUSED, 403: FORBIDDEN, 404: NOT_FOUND},
        )
        def post(self, request, pk):
            query = self.get_query(pk)
            data = MessageSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            query = service(query=query, user=request.user, body=data.validated_data["body"])
            return Response(QuerySerializer(query).data)

    QueryActionView.http_method_names = ["post", "options"]
    QueryActionView.__name__ = QueryActionView.__qualname__ = f"Query{service.__name__.title().replace('_', '')}View"
    return QueryActionView


QueryRespondView = _query_action(services.query_respond, "Respond to a query", "provider staff")
QueryAcceptView = _query_action(services.query_accept, "Accept the answer and close a query", "liaison")
QueryReopenView = _query_action(services.query_reopen, "Reopen a query", "liaison")


class _ProviderCollectionView(generics.GenericAPIView):
    def get_pair(self, reference, ukprn):
        collection = get_object_or_404(Collection, reference=reference)
        provider = get_object_or_404(permissions.visible_providers(self.request.user), ukprn=ukprn)
        return provider, collection


class SignOffView(_ProviderCollectionView):
    serializer_class = SignOffSerializer

    @extend_schema(
        tags=["review"],
        summary="Sign off a provider's approved collection (liaison)",
        description="Refused while the collection is not approved, updated since approval, or has open queries.",
        parameters=[REFERENCE, UKPRN],
        request=None,
        responses={201: SignOffSerializer, 400: REFUSED, 403: LIAISON_ONLY, 404: NOT_FOUND},
    )
    def post(self, request, reference, ukprn):
        provider, collection = self.get_pair(reference, ukprn)
        sign_off = services.collection_sign_off(provider=provider, collection=collection, user=request.user)
        return Response(SignOffSerializer(sign_off).data, status=status.HTTP_201_CREATED)


class ReturnView(_ProviderCollectionView):
    serializer_class = QuerySerializer

    @extend_schema(
        tags=["review"],
        summary="Return a provider's approved collection with a query (liaison)",
        description="Raises a query that must be answered before approval; reopens a sign-off.",
        parameters=[REFERENCE, UKPRN],
        request=ReturnSerializer,
        responses={201: QuerySerializer, 400: REFUSED, 403: LIAISON_ONLY, 404: NOT_FOUND},
    )
    def post(self, request, reference, ukprn):
        provider, collection = self.get_pair(reference, ukprn)
        data = ReturnSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        query = services.collection_return(
            provider=provider, collection=collection, user=request.user, **data.validated_data
        )
        return Response(QuerySerializer(query).data, status=status.HTTP_201_CREATED)


class GridView(generics.GenericAPIView):
    serializer_class = GridSerializer

    @extend_schema(
        tags=["review"],
        summary="The review dashboard grid: providers x collections",
        description="Each cell is the collection's state for the provider: "
        + ", ".join(selectors.STATES)
        + ". Liaison see every provider; provider staff get their own row.",
        parameters=[
            OpenApiParameter("collection", str, many=True, description="Collection references (repeatable)."),
            OpenApiParameter("search", str, description="Provider name or UKPRN."),
            OpenApiParameter("state", str, enum=list(selectors.STATES), description="Rows with a cell in it."),
        ],
        responses={200: GridSerializer, 400: OpenApiResponse(ProblemSerializer, description="Unknown state.")},
    )
    def get(self, request):
        state = request.query_params.get("state", "")
        if state and state not in selectors.STATES:
            return problem(
                status.HTTP_400_BAD_REQUEST,
                "bad_state",
                f"Unknown state {state!r}: one of {', '.join(selectors.STATES)}.",
            )
        grid = selectors.liaison_grid(
            user=request.user,
            collections=request.query_params.getlist("collection") or None,
            search=request.query_params.get("search", ""),
            state=state,
        )
        return Response(GridSerializer(grid).data)


class CollectionTolerancesView(generics.GenericAPIView):
    serializer_class = RuleToleranceSerializer
    pagination_class = None  # one row per warning rule, answered whole: the schema must not say paginated

    @extend_schema(
        tags=["review"],
        summary="Every warning rule's tolerance in a collection",
        description="The tolerance that applies to each warning rule: set by liaison for the collection "
        "(`source` collection), else the rule's own (`default`), else zero (`none`: any warning blocks approval). "
        "Everyone signed in may read them.",
        parameters=[REFERENCE],
        responses={200: RuleToleranceSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, reference):
        collection = get_object_or_404(Collection, reference=reference)
        return Response(RuleToleranceSerializer(selectors.collection_tolerances(collection=collection), many=True).data)


class CollectionToleranceView(generics.GenericAPIView):
    serializer_class = RuleToleranceSerializer

    def _row(self, collection, code):
        row = next((r for r in selectors.collection_tolerances(collection=collection) if r.code == code), None)
        if row is None:
            raise Http404("No such warning rule in this collection.")
        return row

    @extend_schema(
        tags=["review"],
        summary="One warning rule's tolerance in a collection",
        parameters=[REFERENCE, CODE],
        responses={200: RuleToleranceSerializer, 404: NOT_FOUND},
    )
    def get(self, request, reference, code):
        collection = get_object_or_404(Collection, reference=reference)
        return Response(RuleToleranceSerializer(self._row(collection, code)).data)

    @extend_schema(
        tags=["review"],
        summary="Set a warning rule's tolerance in a collection (liaison)",
        description="Exactly one of `percent` (of the rule's records, 0-100) or `count` (0-"
        f"{services.MAX_TOLERANCE_COUNT:,} records); 0 means any outstanding warning blocks approval. Replaces the "
        "rule's default for this collection; audited. Neither (or both) is refused (400, `percent_or_count`): to go "
        "back to the rule's default, DELETE this tolerance.",
        parameters=[REFERENCE, CODE],
        request=RuleToleranceUpdateSerializer,
        responses={200: RuleToleranceSerializer, 400: REFUSED, 403: LIAISON_ONLY, 404: NOT_FOUND},
    )
    def put(self, request, reference, code):
        collection = get_object_or_404(Collection, reference=reference)
        permissions.require(permissions.is_liaison(request.user), "Only Liaison can set a tolerance.")
        data = RuleToleranceUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.tolerance_set(collection=collection, code=code, user=request.user, **data.validated_data)
        return Response(RuleToleranceSerializer(self._row(collection, code)).data)

    @extend_schema(
        tags=["review"],
        summary="Set a warning rule's tolerance in a collection (liaison)",
        description="The same as PUT.",
        parameters=[REFERENCE, CODE],
        request=RuleToleranceUpdateSerializer,
        responses={200: RuleToleranceSerializer, 400: REFUSED, 403: LIAISON_ONLY, 404: NOT_FOUND},
    )
    def patch(self, request, reference, code):
        return self.put(request, reference, code)

    @extend_schema(
        tags=["review"],
        summary="Reset a warning rule's tolerance in a collection to the rule's default (liaison)",
        description="Removes the tolerance liaison set for this collection, so the rule's own default applies "
        "again (`source` default, or none: zero). Audited. Answers the tolerance that now applies; a rule "
        "already on its default is left as it is (200, nothing audited).",
        parameters=[REFERENCE, CODE],
        request=None,
        responses={200: RuleToleranceSerializer, 400: REFUSED, 403: LIAISON_ONLY, 404: NOT_FOUND},
    )
    def delete(self, request, reference, code):
        collection = get_object_or_404(Collection, reference=reference)
        services.tolerance_reset(collection=collection, code=code, user=request.user)
        return Response(RuleToleranceSerializer(self._row(collection, code)).data)
