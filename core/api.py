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
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ActionRefused
from .pagination import KeysetPaginator


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


class KeysetAPIPagination(PortalPagination):
    """Long lists (core.pagination): the same `count`/`next`/`previous`/`results` answer and `?page=N`
    (or `last`), but `next` and `previous` carry a seek cursor (`after`/`before`), so walking a list
    costs the same at its end as at its start. A view that knows the total passes `count=`."""

    def paginate_queryset(self, queryset, request, view=None, *, count=None, base=None):
        self.request = request
        self.page = KeysetPaginator(queryset, self.get_page_size(request), count=count, base=base).get_page(
            request.query_params.get(self.page_query_param),
            after=request.query_params.get("after"),
            before=request.query_params.get("before"),
        )
        return list(self.page)

    def get_next_link(self):
        if not self.page.has_next():
            return None
        url = remove_query_param(self.request.build_absolute_uri(), "before")
        url = replace_query_param(url, self.page_query_param, self.page.next_page_number())
        return replace_query_param(url, "after", self.page.next_cursor)

    def get_previous_link(self):
        if not self.page.has_previous():
            return None
        url = remove_query_param(self.request.build_absolute_uri(), "after")
        url = replace_query_param(url, self.page_query_param, self.page.previous_page_number())
        if self.page.previous_page_number() == 1:
            return remove_query_param(url, "before")
        return replace_query_param(url, "before", self.page.previous_cursor)

    def get_schema_operation_parameters(self, view):
        cursor = "A cursor from a `{}` link (the key of the row it follows); with it `page` only numbers the page."
        return [
            *super().get_schema_operation_parameters(view),
            *(
                {
                    "name": name,
                    "required": False,
                    "in": "query",
                    "description": cursor.format(link),
                    "schema": {"type": "string"},
                }
                for name, link in (("after", "next"), ("before", "previous"))
            ),
        ]


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
