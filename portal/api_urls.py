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

HIN linking:
  submissions/{id}/hin-report/                 GET list   (CSV: submissions/{id}/hin-report.csv)
  submissions/{id}/hin-report/confirm/         POST       (confirm report A/D warnings)
  submissions/{id}/hin-target-list/            GET list   (CSV: submissions/{id}/hin-target-list.csv)
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from collections_app import api as collections_api
from hin import api as hin_api
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
    path("submissions/<int:pk>/hin-report/", hin_api.HinReportView.as_view(), name="submission-hin-report"),
    path(
        "submissions/<int:pk>/hin-report/confirm/",
        hin_api.HinConfirmView.as_view(),
        name="submission-hin-report-confirm",
    ),
    path("submissions/<int:pk>/hin-report.csv", hin_api.HinReportCSVView.as_view(), name="submission-hin-report-csv"),
    path(
        "submissions/<int:pk>/hin-target-list/",
        hin_api.HinTargetListView.as_view(),
        name="submission-hin-target-list",
    ),
    path(
        "submissions/<int:pk>/hin-target-list.csv",
        hin_api.HinTargetListCSVView.as_view(),
        name="submission-hin-target-list-csv",
    ),
    *router.urls,
]
