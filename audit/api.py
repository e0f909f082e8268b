"""GET /api/v1/audit/: the audit log, scoped and filtered exactly as the screen is."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers

from accounts import permissions
from core.api import KeysetAPIPagination

from . import selectors
from .filters import filters_from
from .models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    provider = serializers.SlugRelatedField(slug_field="ukprn", read_only=True)
    collection = serializers.SlugRelatedField(slug_field="reference", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "action", "summary", "provider", "collection", "submission", "details"]

    def get_actor(self, event) -> str | None:
        """Username, or null for a system event."""
        return event.actor.username if event.actor_id else None


@extend_schema(
    tags=["audit"],
    summary="Audit log",
    description="Liaison sees every event; provider staff see their own provider's. Newest first.",
    parameters=[
        OpenApiParameter("provider", str, description="UKPRN (liaison only)"),
        OpenApiParameter("collection", str, description="Collection reference, e.g. C23051"),
        OpenApiParameter("action", str, description='Action slug, or a prefix ending in "." (e.g. "submission.")'),
        OpenApiParameter("actor", str, description='Username or name (partial), or "system"'),
        OpenApiParameter("from", OpenApiTypes.DATE, description="First UK calendar day"),
        OpenApiParameter("to", OpenApiTypes.DATE, description="Last UK calendar day"),
        OpenApiParameter("submission", int),
        OpenApiParameter("sort", str, enum=list(selectors.SORTS)),
    ],
)
class AuditEventListView(generics.ListAPIView):
    serializer_class = AuditEventSerializer
    pagination_class = KeysetAPIPagination

    def get_queryset(self):
        filters = filters_from(self.request.query_params, user_is_liaison=permissions.is_liaison(self.request.user))
        return selectors.audit_events(user=self.request.user, filters=filters)
