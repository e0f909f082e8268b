"""REST API v1: a submission's credibility report (tables, flags, explanations) and its CSV."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from collections_app import selectors as collection_selectors
from collections_app.api import CSV_RESPONSE, NO_FORMAT, NOT_FOUND, SUBMISSION_ID, SubmissionCSVView
from core.csv import csv_response

from . import exports, selectors
from .serializers import CredibilityReportSerializer

CREDIBILITY_CSV_PATH = "/api/v1/submissions/{id}/credibility.csv"


@extend_schema(tags=["credibility"], parameters=[SUBMISSION_ID])
class CredibilityView(APIView):
    @extend_schema(
        summary="Read a submission's credibility report",
        description="Counts of instances by level, mode, QUALAIM, entrants, leavers, domicile group, gender and "
        "ethnicity, each beside the approved previous-year submission's and this year's approved submission's, "
        "with the change, the flag (moved by more than the collection's threshold) and the provider's "
        f"explanation. As CSV: `{CREDIBILITY_CSV_PATH}`.",
        responses={200: CredibilityReportSerializer, 404: NOT_FOUND},
    )
    def get(self, request, pk):
        submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
        report = selectors.credibility_report(submission=submission)
        return Response(CredibilityReportSerializer(report).data)


@extend_schema(tags=["credibility"])
class CredibilityCSVView(SubmissionCSVView):
    @extend_schema(
        summary="Download a submission's credibility report as CSV",
        description="One row per figure. Columns: " + ", ".join(exports.TABLE_HEADER) + ".",
        operation_id="v1_submissions_credibility_csv",
        parameters=[SUBMISSION_ID, NO_FORMAT],
        responses={(200, "text/csv"): CSV_RESPONSE, (404, "application/json"): NOT_FOUND},
    )
    def get(self, request, pk):
        submission = self.get_submission(pk)
        report = selectors.credibility_report(submission=submission)
        return csv_response(self.filename(submission, "credibility"), exports.TABLE_HEADER, exports.table_rows(report))
