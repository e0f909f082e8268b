"""REST API v1 for the HIN reports and the HIN Target List of a submission."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.response import Response

from collections_app import selectors as collection_selectors
from collections_app import services as collection_services
from collections_app.api import (
    CSV_RESPONSE,
    NO_FORMAT,
    NOT_FOUND,
    SUBMISSION_ID,
    SubmissionCSVView,
)
from core.api import DetailSerializer, KeysetAPIPagination, ProblemSerializer

from . import exports, selectors, services
from .serializers import (
    HinConfirmMatchingSerializer,
    HinConfirmResultSerializer,
    HinConfirmSerializer,
    HinFindingSerializer,
    HinReportFilterSerializer,
    HinTargetRecordSerializer,
)

HIN_REPORT_CSV_PATH = "/api/v1/submissions/{id}/hin-report.csv"
HIN_TARGET_LIST_CSV_PATH = "/api/v1/submissions/{id}/hin-target-list.csv"


def _findings(request, submission):
    filters = HinReportFilterSerializer(data=request.query_params)
    filters.is_valid(raise_exception=True)
    data = filters.validated_data
    return selectors.hin_findings(
        submission=submission,
        report=data.get("report"),
        check=data.get("check"),
        confirmed=data.get("confirmed"),
        husid=data.get("husid"),
        field=data.get("field", ""),
        value=data.get("value", ""),
    )


@extend_schema(tags=["hin"], parameters=[SUBMISSION_ID])
class HinReportView(generics.GenericAPIView):
    pagination_class = KeysetAPIPagination
    serializer_class = HinFindingSerializer

    @extend_schema(
        summary="List a submission's HIN report findings (reports A-D)",
        description="Year-on-year findings against the provider's approved previous-year data, in report and "
        "file order. Each row has `report` (A-D), `check` (e.g. 3c, 7g), `category` (checks 6 and 7g) and the "
        "`current` and `previous` records (HUSID, INSTID, NUMHUS and the fields the check compares); check 7 "
        "rows are about last year's record, so `current` is the suggested match or null. Empty when there is no "
        f"previous-year data. As CSV (every field of both records): `{HIN_REPORT_CSV_PATH}`.",
        parameters=[HinReportFilterSerializer],
        responses={
            200: HinFindingSerializer(many=True),
            400: OpenApiResponse(description="Bad filter."),
            404: NOT_FOUND,
        },
    )
    def get(self, request, pk):
        submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
        page = self.paginate_queryset(_findings(request, submission))
        findings = selectors.hin_findings_resolve(submission=submission, failures=page)
        return self.get_paginated_response(HinFindingSerializer(findings, many=True).data)


@extend_schema(tags=["hin"], parameters=[SUBMISSION_ID])
class HinConfirmView(generics.GenericAPIView):
    serializer_class = HinConfirmSerializer

    @extend_schema(
        summary="Confirm report A or D warnings as data quality improvements",
        description="Provider staff of the submission's provider only. The confirmation carries forward to later "
        "uploads of the collection that report the same change for the same record. Returns how many were "
        "confirmed now: a warning confirmed before keeps its first confirmation (who, when, why) and is not "
        "counted, so confirming it again answers 0 and changes nothing. Refused (400) without a reason or with "
        f"one over {collection_services.MAX_REASON_LENGTH:,} characters, for errors or another submission's "
        f"findings, for more than {collection_services.MAX_CONFIRM_IDS:,} ids, for a superseded upload or a "
        "closed collection.",
        responses={
            200: HinConfirmResultSerializer,
            400: OpenApiResponse(ProblemSerializer, description="Refused: `detail` says why."),
            403: OpenApiResponse(DetailSerializer, description="Not the provider's own staff."),
            404: NOT_FOUND,
        },
    )
    def post(self, request, pk):
        submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
        body = HinConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        confirmed = collection_services.warning_confirm(
            submission=submission,
            failure_ids=body.validated_data["failures"],
            reason=body.validated_data["reason"],
            user=request.user,
        )
        return Response({"confirmed": confirmed})


@extend_schema(tags=["hin"], parameters=[SUBMISSION_ID])
class HinConfirmMatchingView(generics.GenericAPIView):
    serializer_class = HinConfirmMatchingSerializer

    @extend_schema(
        summary="Confirm every report A or D warning matching a filter, with one reason",
        description="The filter is the list's (`report`, `check`, `confirmed`, `husid`) plus `field` and the "
        "exact change `value`; every matching warning not yet confirmed is confirmed, on every page. Returns how "
        "many. Refused (400) when nothing matches (always with `confirmed` true), without a reason or with one over "
        f"{collection_services.MAX_REASON_LENGTH:,} characters, for a superseded upload or a closed collection.",
        responses={
            200: HinConfirmResultSerializer,
            400: OpenApiResponse(ProblemSerializer, description="Refused: `detail` says why."),
            403: OpenApiResponse(DetailSerializer, description="Not the provider's own staff."),
            404: NOT_FOUND,
        },
    )
    def post(self, request, pk):
        submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
        body = HinConfirmMatchingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        confirmed = services.hin_findings_confirm_matching(
            submission=submission,
            report=data["report"],
            check=data.get("check"),
            confirmed=data.get("confirmed"),
            husid=data.get("husid", ""),
            field=data.get("field", ""),
            value=data.get("value", ""),
            reason=data["reason"],
            user=request.user,
        )
        return Response({"confirmed": confirmed})


@extend_schema(tags=["hin"], parameters=[SUBMISSION_ID])
class HinTargetListView(generics.GenericAPIView):
    pagination_class = KeysetAPIPagination
    serializer_class = HinTargetRecordSerializer

    @extend_schema(
        summary="List a submission's HIN Target List",
        description="Every record that is not closed off, in file order: next year's submission must return each "
        f"HIN (check 7). As CSV: `{HIN_TARGET_LIST_CSV_PATH}`.",
        responses={200: HinTargetRecordSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, pk):
        submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
        page = self.paginator.paginate_queryset(
            selectors.hin_target_list(submission=submission),
            request,
            view=self,
            count=selectors.hin_target_count(submission=submission),
            base=selectors.hin_target_records(submission=submission),
        )
        return self.get_paginated_response(HinTargetRecordSerializer(page, many=True).data)


@extend_schema(tags=["hin"])
class HinReportCSVView(SubmissionCSVView):
    @extend_schema(
        summary="Download a submission's HIN report findings as CSV",
        description="Takes the same `report`, `check`, `confirmed` and `husid` parameters as the list. Columns: "
        + ", ".join(exports.HIN_REPORT_HEADER[:7])
        + ", then every field of this year's record and of last year's.",
        operation_id="v1_submissions_hin_report_csv",
        parameters=[SUBMISSION_ID, HinReportFilterSerializer, NO_FORMAT],
        responses={(200, "text/csv"): CSV_RESPONSE, (404, "application/json"): NOT_FOUND},
    )
    def get(self, request, pk):
        submission = self.get_submission(pk)
        return exports.hin_report_csv(
            submission=submission,
            failures=_findings(request, submission),
            filename=self.filename(submission, "hin-report"),
        )


@extend_schema(tags=["hin"])
class HinTargetListCSVView(SubmissionCSVView):
    @extend_schema(
        summary="Download a submission's HIN Target List as CSV",
        description="Columns: " + ", ".join(exports.TARGET_LIST_HEADER) + ".",
        operation_id="v1_submissions_hin_target_list_csv",
        parameters=[SUBMISSION_ID, NO_FORMAT],
        responses={(200, "text/csv"): CSV_RESPONSE, (404, "application/json"): NOT_FOUND},
    )
    def get(self, request, pk):
        submission = self.get_submission(pk)
        return exports.hin_target_list_csv(submission=submission, filename=self.filename(submission, "hin-target-list"))
