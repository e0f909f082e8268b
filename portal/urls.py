from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import health, metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    # For load balancers, orchestrators and Prometheus: unauthenticated (metrics: token or network).
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", metrics.metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file (?script), not inline: the CSP allows no inline script.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    path("api/v1/", include("portal.api_urls")),
    path("", include("portal.web_urls")),
    path("", include("collections_app.urls")),
    path("", include("hin.urls")),
    path("", include("credibility.urls")),
    path("", include("contacts.urls")),
    path("", include("audit.urls")),
    path("", include("review.urls")),
    path("", include("contacts.urls_coverage")),
]
