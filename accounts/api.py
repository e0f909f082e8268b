"""API views for accounts objects. Roles are enforced through accounts.permissions."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets

from core.api import DetailSerializer

from . import permissions
from .serializers import ProviderSerializer


@extend_schema_view(
    list=extend_schema(
        summary="List providers",
        description="Agency liaison staff see every provider; provider staff see only their own.",
    ),
    retrieve=extend_schema(
        summary="Get a provider by UKPRN",
        description="A provider the caller may not see answers 404, the same as one that does not exist.",
        responses={
            200: ProviderSerializer,
            404: OpenApiResponse(DetailSerializer, description="No such provider, or not the caller's."),
        },
    ),
)
@extend_schema(tags=["providers"])
class ProviderViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ProviderSerializer
    lookup_field = "ukprn"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return permissions.visible_providers(self.request.user).order_by("name", "ukprn")
