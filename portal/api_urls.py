"""REST API v1 routes, mounted at /api/v1/ under the "api" namespace (reverse("api:submission-detail", ...)).

Collections and submissions:
  providers/                                   GET list
  providers/{ukprn}/                           GET
  collections/                                 GET list, POST (liaison)
  collections/{reference}/                     GET, PATCH (liaison)
  collections/{reference}/submissions/         GET list, POST multipart upload
  submissions/{id}/                            GET
  submissions/{id}/retry/                      POST
  submissions/{id}/failures/                   GET list   (CSV: submissions/{id}/failures.csv)
  submissions/{id}/schema-errors/              GET list   (CSV: submissions/{id}/schema-errors.csv)
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from audit import api as audit_api
from collections_app import api as collections_api
from portal.accounts import api as accounts_api

app_name = "api"

router = SimpleRouter()
router.register("providers", accounts_api.ProviderViewSet, basename="provider")
router.register("collections", collections_api.CollectionViewSet, basename="collection")
router.register("submissions", collections_api.SubmissionViewSet, basename="submission")

urlpatterns = [
    path(
        "collections/<str:reference>/submissions/",
        collections_api.CollectionSubmissionsView.as_view(),
        name="collection-submissions",
    ),
    path(
        "submissions/<int:pk>/failures.csv",
        collections_api.SubmissionFailuresCSVView.as_view(),
        name="submission-failures-csv",
    ),
    path(
        "submissions/<int:pk>/schema-errors.csv",
        collections_api.SubmissionSchemaErrorsCSVView.as_view(),
        name="submission-schema-errors-csv",
    ),
    path("audit/", audit_api.AuditEventListView.as_view(), name="audit-list"),
    *router.urls,
]
