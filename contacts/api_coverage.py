"""REST API v1: GET /api/v1/submissions/{id}/coverage/, the coverage figures of a contact details
submission (the provider's own staff and liaison; 404 for anyone else and for other kinds)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import NOT_FOUND

from . import coverage
from .views_coverage import contact_submission_or_404


class MeasureSerializer(serializers.Serializer):
    measure = serializers.ChoiceField(choices=[m for m, _ in coverage.MEASURES])
    label = serializers.CharField(required=False)
    count = serializers.IntegerField()
    percent = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        help_text="Of the graduates, rounded to 2 places (never 0.00 for some, nor 100.00 for fewer than all).",
    )
    previous_count = serializers.IntegerField(allow_null=True, help_text="The previous cohort; null if none.")
    previous_percent = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    change = serializers.DecimalField(
        max_digits=6, decimal_places=2, allow_null=True, required=False, help_text="Percentage points."
    )


class HomeEuOsSerializer(serializers.Serializer):
    homeeuos = serializers.CharField(help_text="1 UK, 2 EU, 3 overseas, 4 not known (or not in the population).")
    label = serializers.CharField()
    graduates = serializers.IntegerField()
    previous_graduates = serializers.IntegerField(allow_null=True)
    measures = MeasureSerializer(many=True)


class PreviousSerializer(serializers.Serializer):
    collection = serializers.CharField()
    submission = serializers.IntegerField(allow_null=True, help_text="Its approved submission; null if none.")
    graduates = serializers.IntegerField(allow_null=True)


class CoverageSerializer(serializers.Serializer):
    submission = serializers.IntegerField()
    collection = serializers.CharField()
    graduates = serializers.IntegerField()
    measures = MeasureSerializer(many=True)
    by_homeeuos = HomeEuOsSerializer(many=True)
    previous = PreviousSerializer(allow_null=True, help_text="The provider's previous cohort; null if none.")


@extend_schema(tags=["contacts"])
class CoverageView(APIView):
    @extend_schema(
        summary="Coverage figures of a contact details submission",
        description="Graduates with at least one personal email (valid, not a role mailbox, not in the provider's "
        "own domains), with a mobile (valid UKMOB, or INTTEL that is a mobile), with any usable contact, with "
        "nothing usable; in total and by HOMEEUOS (from the current population build; 4 when not in it); "
        "against the provider's approved submission of the previous cohort.",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="The submission's id.")],
        responses={200: CoverageSerializer, 404: NOT_FOUND},
    )
    def get(self, request, pk):
        submission = contact_submission_or_404(request.user, pk)
        result = coverage.coverage_for(submission=submission)
        previous = None
        if result.previous_collection is not None:
            previous = {
                "collection": result.previous_collection.reference,
                "submission": result.previous.submission_id if result.previous else None,
                "graduates": result.previous.total.graduates if result.previous else None,
            }
        data = {
            "submission": submission.pk,
            "collection": submission.collection.reference,
            "graduates": result.current.total.graduates,
            "measures": coverage.measure_rows(result),
            "by_homeeuos": coverage.homeeuos_rows(result),
            "previous": previous,
        }
        return Response(CoverageSerializer(data).data)
