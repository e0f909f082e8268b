"""GET /api/v1/: where an API client starts, listing the resources with their URLs."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

# Resource -> (route name, what it is). Routes with an id in them are described by the schema.
RESOURCES = {
    "collections": (
        "api:collection-list",
        "Collections and their deadlines; a collection's uploads (list, and upload a file) are at "
        "collections/{reference}/submissions/, each upload at submissions/{id}/ with its failures and HIN reports.",
    ),
    "providers": ("api:provider-list", "Providers you may see."),
    "queries": ("api:query-list", "Queries between liaison and providers."),
    "review_grid": ("api:review-grid", "Each provider's state in each collection."),
    "audit": ("api:audit-list", "Who did what, scoped to your provider."),
}


class ApiRootSerializer(serializers.Serializer):
    resources = serializers.DictField(child=serializers.DictField(child=serializers.CharField()))
    schema = serializers.URLField()
    docs = serializers.URLField()


class ApiRootView(APIView):
    @extend_schema(
        summary="API root",
        description="The resources of the API, each with its URL; the OpenAPI schema and Swagger UI.",
        responses={200: ApiRootSerializer, 401: OpenApiResponse(description="Not signed in or no token.")},
    )
    def get(self, request):
        return Response(
            {
                "resources": {
                    name: {"url": reverse(route, request=request), "description": text}
                    for name, (route, text) in RESOURCES.items()
                },
                "schema": reverse("api-schema", request=request),
                "docs": reverse("api-docs", request=request),
            }
        )
