"""The REST API toolkit every app's API uses: problem answers, the exception handler that turns
refusals into them, pagination, CSV download negotiation (core.negotiation), and shared schema pieces."""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import is_jsonschema_compliant
from drf_spectacular.utils import OpenApiResponse
from rest_framework import renderers, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ActionRefused

# DownloadNegotiation: the apps' download views import it from here.
from .negotiation import CSV_FORMAT, CSV_MEDIA_TYPE, DownloadNegotiation  # noqa: F401
from .pagination import KeysetPaginator


def problem(http_status: int, code: str, detail: str) -> Response:
    return Response({"code": code, "detail": detail}, status=http_status)


# get_object_or_404's words name the model class ("No OverrideRequest matches the given query.").
_MODEL_NOT_FOUND = re.compile(r"^No (?P<model>[A-Za-z]+) matches the given query\.$")


def exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: a refused action is a problem answer with its code and
    sentence (views just let ActionRefused propagate); a role refusal from a service
    (permissions.require) is 403 with its message; a 404 says "No such <thing>." whichever helper
    raised it; everything else as DRF answers it."""
    if isinstance(exc, ActionRefused):
        return problem(exc.http_status, exc.code, exc.message)
    if isinstance(exc, PermissionDenied) and str(exc):
        return problem(403, "forbidden", str(exc))
    if isinstance(exc, Http404) and (named := _MODEL_NOT_FOUND.match(str(exc))):
        thing = re.sub(r"(?<!^)(?=[A-Z])", " ", named["model"]).lower()
        exc = Http404(f"No such {thing}.")
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
        cursor = (
            "A cursor from a `{}` link (the key of the row it follows); with it `page` only says from which end "
            "the page's position is counted. A cursor that does not fit the list is ignored."
        )
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
    """Lets a client ask for text/csv. Downloads stream past it (a view that offers CSV checks
    `request.accepted_renderer.format`, so `Accept: text/csv` and `?format=csv` get the same file); it
    only renders error answers, as their sentence."""

    media_type = CSV_MEDIA_TYPE
    format = CSV_FORMAT
    charset = "utf-8"
    NO_CSV = "This answer has no CSV form: ask for application/json."

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if isinstance(data, dict) and "detail" in data:
            return str(data["detail"]).encode(self.charset)
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code >= 400:
            return _error_text(data).encode(self.charset)  # e.g. a 400's "field: message", status kept
        # Anything else is a JSON answer that reached CSV: str() of it is a Python repr, not CSV. The
        # view has already answered, so the refusal is made here, on the response being rendered.
        if response is not None:
            response.status_code = 406
        return self.NO_CSV.encode(self.charset)


def _error_text(data) -> str:
    """An error answer's messages as plain lines (a validation error is {field: [messages]})."""
    if isinstance(data, dict):
        return "\n".join(f"{key}: {_error_text(value)}" for key, value in data.items())
    if isinstance(data, list | tuple):
        return " ".join(_error_text(value) for value in data)
    return str(data)


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


# OpenAPI 3.0.3 reads `nullable` only beside a `type` in the same schema object, so drf-spectacular's
# nullable nested serializer, {allOf: [$ref], nullable: true}, says "never null" to a strict validator
# (openapi-core, openapi-schema-validator), which then refuses the nulls the API sends. NULL_ONLY is
# the schema of null alone that 3.0.3 allows.
NULL_ONLY = {"type": "object", "nullable": True, "enum": [None]}


class NullableNestedSchema(OpenApiSerializerFieldExtension):
    """Every nested serializer declared `allow_null=True` is documented as oneOf [its component, null]."""

    target_class = serializers.BaseSerializer
    match_subclasses = True

    @classmethod
    def _matches(cls, target) -> bool:
        return (
            isinstance(target, serializers.BaseSerializer)
            and not isinstance(target, serializers.ListSerializer)
            and target.allow_null
            and not is_jsonschema_compliant()  # OpenAPI 3.1: drf-spectacular writes {type: null} itself
            and super()._matches(target)
        )

    def map_serializer_field(self, auto_schema, direction):
        component = auto_schema.resolve_serializer(self.target, direction)
        if not component:
            return auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {"oneOf": [component.ref, NULL_ONLY]}
