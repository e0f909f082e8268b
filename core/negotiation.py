"""Content negotiation for REST API v1 (REST_FRAMEWORK["DEFAULT_CONTENT_NEGOTIATION_CLASS"]).

Its own module, apart from core.api: DRF reads that setting when rest_framework.views is first
imported, and core.api imports rest_framework.views, so naming a class in core.api there is a
circular import.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation

# core.api.CSVRenderer's.
CSV_FORMAT, CSV_MEDIA_TYPE = "csv", "text/csv"


class PortalNegotiation(DefaultContentNegotiation):
    """REST_FRAMEWORK["DEFAULT_CONTENT_NEGOTIATION_CLASS"]. DRF answers a `?format=` the view cannot
    render with 404, as if the resource did not exist: here it is 406. A client that asked for CSV
    (`?format=csv` or `Accept: text/csv`) is told the list's CSV download, found by the URL-name
    convention: a JSON list named `x` has its CSV, if it has one, at `x-csv` (api:submission-failures
    -> api:submission-failures-csv)."""

    def filter_renderers(self, renderers, format):
        matching = [renderer for renderer in renderers if renderer.format == format]
        if not matching:
            raise NotAcceptable(
                f"No {format!r} format here: this answers {', '.join(r.media_type for r in renderers)}.",
                available_renderers=renderers,
            )
        return matching

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable as refusal:
            asked = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
            wants_csv = asked == CSV_FORMAT if asked else self._accepts_csv(request)
            url = self.csv_download(request) if wants_csv else None
            if url is None:
                raise
            raise NotAcceptable(f"This answer is JSON; its CSV is {url}", available_renderers=renderers) from refusal

    def _accepts_csv(self, request) -> bool:
        return any(token.split(";")[0].strip().lower() == CSV_MEDIA_TYPE for token in self.get_accept_list(request))

    @staticmethod
    def csv_download(request) -> str | None:
        match = getattr(request, "resolver_match", None)
        if match is None or not match.url_name:
            return None
        try:
            return reverse(f"{match.view_name}-csv", args=None if match.kwargs else match.args, kwargs=match.kwargs)
        except NoReverseMatch:
            return None


class DownloadNegotiation(PortalNegotiation):
    """A download is a file whatever the client says it accepts: never answer 406 for it."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type
