"""REST API v1 for collections and submissions: thin views over selectors, services and exports.

Who may see or do what is decided in accounts.permissions: querysets are scoped to what
the caller may see (a foreign id is a 404, never a 403), and role-restricted actions use its
permission classes.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions
from core.api import (
    INVALID,
    LIAISON_ONLY,
    NOT_FOUND,
    REFUSED,
    CSVRenderer,
    DownloadNegotiation,
    KeysetAPIPagination,
    PortalPagination,
    problem,
)

from . import collection_services, exports, selectors, services
from .models import Collection, Submission
from .serializers import (
    CollectionSerializer,
    FailureFilterSerializer,
    FailureSerializer,
    SchemaErrorSerializer,
    SubmissionListSerializer,
    SubmissionSerializer,
    SubmissionStatusSerializer,
    UploadSerializer,
)
from .uploads import the_uploaded_file


def submission_status_response(request, submission: Submission) -> Response:
    submission.refresh_from_db()  # an eagerly run pipeline may already have moved it on
    data = SubmissionStatusSerializer(submission, context={"request": request}).data
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


STATUS_ACCEPTED = OpenApiResponse(
    SubmissionStatusSerializer,
    description="Accepted and queued for processing. Poll `url` until `status` is no longer queued or processing.",
)
SUBMISSION_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The submission's id.")
FAILURES_CSV_PATH = "/api/v1/submissions/{id}/failures.csv"
SCHEMA_ERRORS_CSV_PATH = "/api/v1/submissions/{id}/schema-errors.csv"


# -- collections ----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List collections", description="Readable by any signed-in user."),
    retrieve=extend_schema(
        summary="Get a collection by reference", responses={200: CollectionSerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary="Create a collection (liaison only)",
        description="Provider staff get 403. The reference is like C23051, its year digits matching the "
        "reporting year; the approval deadline must be after opening and the final-updates deadline not before "
        "the approval deadline; a contact details collection needs a cohort and a Student record one has none; "
        "`previous` is the reference of an earlier collection of the same kind.",
        responses={201: CollectionSerializer, 400: INVALID, 403: LIAISON_ONLY},
    ),
    partial_update=extend_schema(
        summary="Change a collection (liaison only)",
        description="Same rules as create; the reference cannot be changed. Provider staff get 403.",
        responses={200: CollectionSerializer, 400: INVALID, 403: LIAISON_ONLY, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=["collections"])
class CollectionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Collection.objects.select_related("previous")
    serializer_class = CollectionSerializer
    permission_classes = [permissions.IsLiaisonOrReadOnly]
    lookup_field = "reference"
    lookup_value_regex = r"[A-Za-z0-9]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    # Through the services, so API changes are audited like the screens' ones.
    def perform_create(self, serializer):
        serializer.instance = collection_services.collection_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = collection_services.collection_update(
            actor=self.request.user, collection=serializer.instance, **serializer.validated_data
        )


@extend_schema(tags=["submissions"])
class CollectionSubmissionsView(generics.GenericAPIView):
    """A collection's submissions: list those the caller may see, or upload a new file."""

    serializer_class = SubmissionListSerializer
    pagination_class = PortalPagination
    parser_classes = [MultiPartParser, FormParser]

    def get_collection(self) -> Collection:
        return get_object_or_404(Collection, reference=self.kwargs["reference"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Submission.objects.none()
        queryset = selectors.submissions_visible_to(self.request.user).filter(collection=self.get_collection())
        ukprn = self.request.query_params.get("ukprn")
        if ukprn:
            queryset = queryset.filter(provider__ukprn=ukprn)
        return queryset

    @extend_schema(
        summary="List a collection's submissions",
        description="Newest first. Provider staff see their own provider's; liaison see every provider's and "
        "may filter by `ukprn`.",
        parameters=[
            OpenApiParameter("ukprn", str, description="Only this provider's submissions (liaison)."),
        ],
        responses={200: SubmissionListSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, reference):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Upload a file for a collection",
        description="A multipart/form-data upload (field `file`). Only provider staff upload, for their own "
        "provider (`ukprn` is optional; naming another provider's gives 404); liaison get 403: the agency reviews "
        "a return but never supplies it. The file is checked before "
        "anything is stored: the collection must be open, and the file non-empty, XML and within the size "
        "limit; otherwise 400 with a `code` and a `detail` message. Accepted files answer 202 and are "
        "processed in the background.",
        request={"multipart/form-data": UploadSerializer},
        responses={202: STATUS_ACCEPTED, 400: REFUSED, 403: REFUSED, 404: NOT_FOUND},
    )
    def post(self, request, reference):
        collection = self.get_collection()
        # Before the other fields: those after an oversized file in the body were never read.
        uploaded_file = the_uploaded_file(request)
        provider = self._provider(request)
        if isinstance(provider, Response):
            return provider
        if uploaded_file is None:
            return problem(400, "no_file", 'No file was sent: send the XML file in the multipart field "file".')
        submission = services.submission_create(
            collection=collection, provider=provider, user=request.user, uploaded_file=uploaded_file
        )
        return submission_status_response(request, submission)

    def _provider(self, request):
        """The provider the upload is for, or the error answer."""
        user = request.user
        if not permissions.is_provider_staff(user):  # liaison never upload (permissions.can_upload_for)
            return problem(status.HTTP_403_FORBIDDEN, "forbidden", services.upload_refusal_message(user))
        ukprn = str(request.data.get("ukprn") or "").strip()
        if not ukprn:
            return user.provider
        provider = permissions.visible_providers(user).filter(ukprn=ukprn).first()
        if provider is None:
            return problem(404, "provider_not_found", f"No provider with UKPRN {ukprn}.")
        return provider


# -- submissions ----------------------------------------------------------------------------


def _failure_filters(request) -> dict:
    """The validated filters of a failure list (400 on a bad severity or sort)."""
    filters = FailureFilterSerializer(data=request.query_params)
    filters.is_valid(raise_exception=True)
    data = filters.validated_data
    return {
        "code": data.get("rule"),
        "severity": data.get("severity"),
        "search": data.get("search"),
        "sort": data.get("sort"),
    }


@extend_schema_view(
    retrieve=extend_schema(
        summary="Get a submission",
        description="Status, stage and progress (0-100) while it is processed; counts, changes since the "
        "previous upload and a summary of every rule once done.",
        responses={200: SubmissionSerializer, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=["submissions"], parameters=[SUBMISSION_ID])
class SubmissionViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SubmissionSerializer
    pagination_class = KeysetAPIPagination
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.submissions_visible_to(self.request.user)

    @extend_schema(
        summary="Retry a submission that stopped with a processing error",
        description="Runs the same file again from the start. The provider's staff and liaison may retry; only a "
        "submission whose status is `error` can be.",
        request=None,
        responses={202: STATUS_ACCEPTED, 400: REFUSED, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        submission = self.get_object()
        submission = services.submission_retry(submission=submission, user=request.user)
        return submission_status_response(request, submission)

    @extend_schema(
        summary="Re-run the checks of a stored submission, in place",
        description="Runs the quality rules, year-on-year linking and credibility tables again on the records "
        "already stored (no new upload; after a tolerance, a threshold, last year's data or a rule changed), "
        "through the worker with progress like an upload; failures are replaced. Liaison may re-run any "
        "submission checked to the end; the provider's staff only their current one. An approved submission "
        "stays approved; if it no longer passes, `approved_no_longer_passes` is set.",
        request=None,
        responses={202: STATUS_ACCEPTED, 400: REFUSED, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None):
        submission = self.get_object()
        submission = services.submission_rerun(submission=submission, user=request.user)
        return submission_status_response(request, submission)

    @extend_schema(
        summary="List a submission's quality-rule failures",
        description=f"Filter by `rule`, `severity` and `search`; order with `sort`. The same rows, with the "
        f"same filters and order, download as CSV from `{FAILURES_CSV_PATH}`.",
        parameters=[FailureFilterSerializer],
        responses={200: FailureSerializer(many=True), 400: OpenApiResponse(description="Bad filter."), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"])
    def failures(self, request, pk=None):
        submission = self.get_object()
        filters = _failure_filters(request)
        queryset = selectors.failures_for(submission=submission, **filters)
        summaries = selectors.rule_summaries(submission=submission)
        total = selectors.failures_total(submission=submission, summaries=summaries, failures=queryset, **filters)
        page = self.paginator.paginate_queryset(queryset, request, view=self, count=total)
        page = selectors.failures_named(submission=submission, failures=page)
        return self.get_paginated_response(FailureSerializer(page, many=True).data)

    @extend_schema(
        summary="List a submission's schema errors",
        description=f"Why a rejected file was rejected, in file order. As CSV: `{SCHEMA_ERRORS_CSV_PATH}`.",
        responses={200: SchemaErrorSerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], url_path="schema-errors")
    def schema_errors(self, request, pk=None):
        submission = self.get_object()
        page = self.paginate_queryset(selectors.schema_errors_for(submission=submission).order_by("line", "id"))
        return self.get_paginated_response(SchemaErrorSerializer(page, many=True).data)


@extend_schema(tags=["submissions"])
class SubmissionCSVView(APIView):
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]
    content_negotiation_class = DownloadNegotiation

    def get_submission(self, pk) -> Submission:
        return selectors.submission_get_or_404(user=self.request.user, pk=pk)

    @staticmethod
    def filename(submission: Submission, what: str) -> str:
        return exports.submission_filename(submission, what)


CSV_RESPONSE = OpenApiResponse(OpenApiTypes.STR, description="A UTF-8 CSV file (with a BOM), streamed.")
NO_FORMAT = OpenApiParameter("format", exclude=True)  # the CSV renderer only exists to accept text/csv


class SubmissionFailuresCSVView(SubmissionCSVView):
    @extend_schema(
        summary="Download a submission's quality-rule failures as CSV",
        description="Takes the same `rule`, `severity`, `search` and `sort` parameters as the failure list. "
        "Columns: " + ", ".join(exports.FAILURE_HEADER) + ". Named like "
        "C23051-10007794-submission-12-failures.csv.",
        operation_id="v1_submissions_failures_csv",
        parameters=[FailureFilterSerializer, NO_FORMAT],
        responses={(200, "text/csv"): CSV_RESPONSE, (404, "application/json"): NOT_FOUND},
    )
    def get(self, request, pk):
        submission = self.get_submission(pk)
        return exports.failures_csv(
            submission=submission, filters=_failure_filters(request), filename=self.filename(submission, "failures")
        )


class SubmissionSchemaErrorsCSVView(SubmissionCSVView):
    @extend_schema(
        summary="Download a submission's schema errors as CSV",
        description="Columns: " + ", ".join(exports.SCHEMA_ERROR_HEADER) + ". Named like "
        "C23051-10007794-submission-12-schema-errors.csv.",
        operation_id="v1_submissions_schema_errors_csv",
        parameters=[NO_FORMAT],
        responses={(200, "text/csv"): CSV_RESPONSE, (404, "application/json"): NOT_FOUND},
    )
    def get(self, request, pk):
        submission = self.get_submission(pk)
        queryset = selectors.schema_errors_for(submission=submission)
        return exports.schema_errors_csv(queryset, self.filename(submission, "schema-errors"))
