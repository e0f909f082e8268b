"""GET /api/v1/audit/: the audit log, scoped and filtered exactly as the screen is."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError

from core.api import INVALID, KeysetAPIPagination

from . import selectors
from .filters import filters_from
from .models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    # Null for an event about no provider or collection (e.g. a liaison creating a user).
    provider = serializers.SlugRelatedField(slug_field="ukprn", read_only=True, allow_null=True)
    collection = serializers.SlugRelatedField(slug_field="reference", read_only=True, allow_null=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "action", "summary", "provider", "collection", "submission", "details"]

    def get_actor(self, event) -> str | None:
        """Username, or null for a system event."""
        return event.actor.username if event.actor_id else None


@extend_schema(
    tags=["audit"],
    summary="Audit log",
    description="Liaison sees every event; provider staff see their own provider's. Newest first. Filters "
    "narrow what the caller may see: provider staff naming another provider get an empty list. A malformed "
    "filter (a date that is no date, a submission that is no id, an unknown sort, a UKPRN that is not 8 "
    "digits) is refused: 400, parameter name -> list of messages.",
    parameters=[
        OpenApiParameter("provider", str, description="UKPRN (8 digits)"),
        OpenApiParameter("collection", str, description="Collection reference, e.g. C23051"),
        OpenApiParameter("action", str, description='Action slug, or a prefix ending in "." (e.g. "submission.")'),
        OpenApiParameter("actor", str, description='Username or name (partial), or "system"'),
        OpenApiParameter("from", OpenApiTypes.DATE, description="First UK calendar day (YYYY-MM-DD or DD/MM/YYYY)"),
        OpenApiParameter("to", OpenApiTypes.DATE, description="Last UK calendar day (YYYY-MM-DD or DD/MM/YYYY)"),
        OpenApiParameter("submission", int, description="A submission id"),
        OpenApiParameter("sort", str, enum=list(selectors.SORTS)),
    ],
    responses={200: AuditEventSerializer(many=True), 400: INVALID},
)
class AuditEventListView(generics.ListAPIView):
    serializer_class = AuditEventSerializer
    pagination_class = KeysetAPIPagination

    def get_queryset(self):
        filters, problems = filters_from(self.request.query_params)
        if problems:
            raise ValidationError({name: [message] for name, message in problems.items()})
        return selectors.audit_events(user=self.request.user, filters=filters)
