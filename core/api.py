"""The REST API toolkit every app's API uses: problem answers, the exception handler that turns
refusals into them, pagination, CSV download negotiation, and shared schema pieces."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import OpenApiResponse
from rest_framework import renderers, serializers
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ActionRefused


def problem(http_status: int, code: str, detail: str) -> Response:
    return Response({"code": code, "detail": detail}, status=http_status)


def exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: a refused action is a problem answer with its code and
    sentence (views just let ActionRefused propagate); a role refusal from a service
    (permissions.require) is 403 with its message; everything else as DRF answers it."""
    if isinstance(exc, ActionRefused):
        return problem(exc.http_status, exc.code, exc.message)
    if isinstance(exc, PermissionDenied) and str(exc):
        return problem(403, "forbidden", str(exc))
    return drf_exception_handler(exc, context)


class PortalPagination(PageNumberPagination):
    """Page-numbered lists; `page_size` (up to 1000) overrides the default of 50."""

    page_size_query_param = "page_size"
    max_page_size = 1000


class CSVRenderer(renderers.BaseRenderer):
    """Lets a client ask for text/csv. Downloads stream past it; it only renders error answers."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict) and "detail" in data:
            return str(data["detail"]).encode(self.charset)
        return b"" if data is None else str(data).encode(self.charset)


class DownloadNegotiation(DefaultContentNegotiation):
    """A download is a file whatever the client says it accepts: never answer 406 for it."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


class DetailSerializer(serializers.Serializer):
    """DRF's standard error answer (not found, not authenticated, not allowed)."""

    detail = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """A refused request: a stable machine-readable code and a message to show the user."""

    code = serializers.CharField(
        help_text="e.g. collection_closed, collection_not_open, empty_file, not_xml, file_too_large, no_file, "
        "provider_not_found, kind_not_supported, not_retryable, reason_required, not_current, "
        "forbidden."
    )
    detail = serializers.CharField()


NOT_FOUND = OpenApiResponse(DetailSerializer, description="Not found, or not visible to the caller.")
REFUSED = OpenApiResponse(ProblemSerializer, description="Refused; nothing was changed. `detail` says why.")
LIAISON_ONLY = OpenApiResponse(DetailSerializer, description="Only agency liaison staff can do this.")
INVALID = OpenApiResponse(description="Invalid: field name -> list of messages.")
