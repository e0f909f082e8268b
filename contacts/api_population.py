"""REST API v1: a contact details collection's population (JSON list, CSV, XML).

Provider staff read their own provider's population; liaison name one with ?provider=<UKPRN>.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, renderers, serializers
from rest_framework.views import APIView

from collections_app.api import CSV_RESPONSE, NO_FORMAT
from core.api import CSVRenderer, DetailSerializer, DownloadNegotiation, PortalPagination, ProblemSerializer
from core.csv import csv_response
from core.errors import ActionRefused

from . import population as pop
from .models import HomeEuOs, PopulationEntry
from .views_population import contact_collection_or_404, provider_for, xml_response

REFERENCE = OpenApiParameter(
    "reference", str, OpenApiParameter.PATH, description="The contact details collection, e.g. C23071."
)
PROVIDER = OpenApiParameter(
    "provider",
    str,
    OpenApiParameter.QUERY,
    description="Liaison: the provider's UKPRN (required). Provider staff: their own, the default; another is 404.",
)
XML_PATH = "/api/v1/collections/{reference}/population.xml"
NOT_FOUND = OpenApiResponse(
    DetailSerializer,
    description="No such contact details collection or provider, or no population built yet (`detail` says "
    "why, e.g. no approved Student record for the year yet).",
)


class PopulationEntrySerializer(serializers.ModelSerializer):
    homeeuos = serializers.ChoiceField(
        choices=HomeEuOs.choices, help_text="1 UK, 2 EU, 3 overseas, 4 not known (from DOMICILE)."
    )

    class Meta:
        model = PopulationEntry
        fields = list(pop.POPULATION_FIELDS)
        read_only_fields = fields


class PopulationFilterSerializer(serializers.Serializer):
    husid = serializers.CharField(required=False, help_text="HUSIDs starting with this.")
    surname = serializers.CharField(required=False, help_text="Surnames containing this (any case).")
    sort = serializers.ChoiceField(
        required=False,
        choices=[key for name in pop.POPULATION_SORTS for key in (name, f"-{name}")],
        help_text="A column, `-` first for descending. Default husid.",
    )


class XMLRenderer(renderers.BaseRenderer):
    """Lets a client ask for application/xml; the download streams past it (errors only)."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        detail = data.get("detail", "") if isinstance(data, dict) else ""
        return f"<error>{escape(str(detail))}</error>".encode(self.charset)


def current_build(request, reference):
    collection = contact_collection_or_404(reference)
    ukprn = request.query_params.get("provider")
    provider = provider_for(request.user, ukprn)
    if provider is None:
        raise ActionRefused("Name the provider: ?provider=<UKPRN>.", code="provider_required")
    build = pop.population_current(provider=provider, collection=collection)
    if build is None:
        source = pop.population_source(provider=provider, collection=collection)
        raise Http404(
            pop.no_source_message(collection)
            if source is None
            else f"{collection.reference}'s population for {provider.ukprn} has not been built yet."
        )
    return build


@extend_schema(tags=["contacts"], parameters=[REFERENCE, PROVIDER])
class PopulationView(generics.GenericAPIView):
    pagination_class = PortalPagination
    serializer_class = PopulationEntrySerializer
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]

    @extend_schema(
        summary="List a contact details collection's population",
        description="The provider's current population for the cohort: every graduate of its approved Student "
        "record of the year with QUAL1 and a DATELEFT in the cohort's window, with HOMEEUOS derived from "
        "DOMICILE. Filter by `husid` prefix and `surname`; `sort` by a column. `?format=csv` downloads every "
        f"matching graduate as CSV (columns {', '.join(pop.POPULATION_HEADER)}); as XML: `{XML_PATH}`.",
        parameters=[
            PopulationFilterSerializer,
            OpenApiParameter("format", str, OpenApiParameter.QUERY, enum=["json", "csv"], description="csv: download."),
        ],
        responses={
            (200, "application/json"): PopulationEntrySerializer(many=True),
            (200, "text/csv"): CSV_RESPONSE,
            400: OpenApiResponse(ProblemSerializer, description="Liaison named no provider, or a bad filter."),
            404: NOT_FOUND,
        },
    )
    def get(self, request, reference):
        build = current_build(request, reference)
        filters = PopulationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        entries, _ = pop.population_entries(build=build, **filters.validated_data)
        if request.accepted_renderer.format == "csv":
            return csv_response(
                pop.population_filename(build, "csv"), pop.POPULATION_HEADER, pop.population_rows(entries)
            )
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(PopulationEntrySerializer(page, many=True).data)


@extend_schema(tags=["contacts"])
class PopulationXMLView(APIView):
    renderer_classes = [XMLRenderer, renderers.JSONRenderer]
    content_negotiation_class = DownloadNegotiation

    @extend_schema(
        summary="Download a contact details collection's population as XML",
        description="Streamed: <ContactPopulation><Provider><RECID/><UKPRN/> then one <Graduate> per graduate with "
        "HUSID, NUMHUS, OWNSTU (if any), FNAMES, SURNAME, QUAL1, DATELEFT and HOMEEUOS, in HUSID order.",
        operation_id="v1_collections_population_xml",
        parameters=[REFERENCE, PROVIDER, NO_FORMAT],
        responses={(200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description="The XML file."),
                   (404, "application/json"): NOT_FOUND},
    )  # fmt: skip
    def get(self, request, reference):
        build = current_build(request, reference)
        entries, _ = pop.population_entries(build=build)
        return xml_response(build, entries)
