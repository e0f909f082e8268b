"""REST API v1 routes, mounted at /api/v1/ under the "api" namespace (reverse("api:submission-detail", ...)).

  (root)                                       GET: the resources below with their URLs

Collections and submissions:
  providers/                                   GET list
  providers/{ukprn}/                           GET
  collections/                                 GET list, POST (liaison)
  collections/{reference}/                     GET, PATCH (liaison)
  collections/{reference}/submissions/         GET list, POST multipart upload
  submissions/{id}/                            GET
  submissions/{id}/retry/                      POST
  submissions/{id}/rerun/                      POST       (rules, linking and credibility again, in place)
  submissions/{id}/failures/                   GET list   (CSV: submissions/{id}/failures.csv)
  submissions/{id}/schema-errors/              GET list   (CSV: submissions/{id}/schema-errors.csv)

Credibility (credibility/api.py):
  submissions/{id}/credibility/                GET        (CSV: submissions/{id}/credibility.csv)

HIN linking:
  submissions/{id}/hin-report/                 GET list   (CSV: submissions/{id}/hin-report.csv)
  submissions/{id}/hin-report/confirm/         POST       (confirm report A/D warnings)
  submissions/{id}/hin-report/confirm-matching/  POST     (confirm every A/D warning matching a filter)
  submissions/{id}/hin-target-list/            GET list   (CSV: submissions/{id}/hin-target-list.csv)

Review and approval (review/api.py):
  submissions/{id}/approve/                    POST (provider approver)
  submissions/{id}/overrides/                  GET list, POST (provider staff)
  overrides/{id}/decide/                       POST (liaison)
  queries/                                     GET list, POST (liaison)
  queries/{id}/                                GET;  queries/{id}/respond|accept|reopen/  POST
  collections/{reference}/providers/{ukprn}/sign-off/   POST (liaison)
  collections/{reference}/providers/{ukprn}/return/     POST (liaison)
  collections/{reference}/tolerances/          GET list (every warning rule's tolerance)
  collections/{reference}/tolerances/{code}/   GET, PUT/PATCH (liaison)
  review/grid/                                 GET

Graduate Outcomes contact details (contacts/api_population.py):
  collections/{reference}/population/          GET list (?format=csv; liaison: ?provider=UKPRN)
  collections/{reference}/population.xml       GET (the population as XML)
Contact details (contacts/api.py):
  collections/{reference}/shared-details/      GET list, POST (record a reason; with remove: true, remove it)
  collections/{reference}/graduates/           GET list, POST (add a graduate: a new submission)
  collections/{reference}/graduates/{husid}/{numhus}/   GET, PUT, DELETE (each change a new submission)

Audit:
  audit/                                       GET list (scoped to the caller's provider)

Contact details:
  submissions/{id}/coverage/                   GET  (coverage figures of a contact details submission)

Survey feed (survey platform's token; liaison may read):
  survey/{reference}/contacts/                 GET list (?since=, ?format=csv)
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts import api as accounts_api
from audit import api as audit_api
from collections_app import api as collections_api
from contacts import api as contacts_api
from contacts import api_coverage as coverage_api
from contacts import api_population
from credibility import api as credibility_api
from hin import api as hin_api
from review import api as review_api
from survey import api as survey_api

from .api_root import ApiRootView

app_name = "api"

router = SimpleRouter()
router.register("providers", accounts_api.ProviderViewSet, basename="provider")
router.register("collections", collections_api.CollectionViewSet, basename="collection")
router.register("submissions", collections_api.SubmissionViewSet, basename="submission")

review_urls = [
    path("submissions/<int:pk>/approve/", review_api.SubmissionApproveView.as_view(), name="submission-approve"),
    path("submissions/<int:pk>/overrides/", review_api.SubmissionOverridesView.as_view(), name="submission-overrides"),
    path("overrides/<int:pk>/decide/", review_api.OverrideDecideView.as_view(), name="override-decide"),
    path("queries/", review_api.QueryListView.as_view(), name="query-list"),
    path("queries/<int:pk>/", review_api.QueryDetailView.as_view(), name="query-detail"),
    path("queries/<int:pk>/respond/", review_api.QueryRespondView.as_view(), name="query-respond"),
    path("queries/<int:pk>/accept/", review_api.QueryAcceptView.as_view(), name="query-accept"),
    path("queries/<int:pk>/reopen/", review_api.QueryReopenView.as_view(), name="query-reopen"),
    path(
        "collections/<str:reference>/providers/<str:ukprn>/sign-off/",
        review_api.SignOffView.as_view(),
        name="collection-sign-off",
    ),
    path(
        "collections/<str:reference>/providers/<str:ukprn>/return/",
        review_api.ReturnView.as_view(),
        name="collection-return",
    ),
    path(
        "collections/<str:reference>/tolerances/",
        review_api.CollectionTolerancesView.as_view(),
        name="collection-tolerances",
    ),
    path(
        "collections/<str:reference>/tolerances/<str:code>/",
        review_api.CollectionToleranceView.as_view(),
        name="collection-tolerance",
    ),
    path("review/grid/", review_api.GridView.as_view(), name="review-grid"),
]

contacts_urls = [
    path(
        "collections/<str:reference>/shared-details/",
        contacts_api.SharedDetailsView.as_view(),
        name="collection-shared-details",
    ),
    path("collections/<str:reference>/graduates/", contacts_api.GraduatesView.as_view(), name="collection-graduates"),
    path(
        "collections/<str:reference>/graduates/<str:husid>/<str:numhus>/",
        contacts_api.GraduateView.as_view(),
        name="collection-graduate",
    ),
]

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
    path(
        "submissions/<int:pk>/hin-report/confirm-matching/",
        hin_api.HinConfirmMatchingView.as_view(),
        name="submission-hin-report-confirm-matching",
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
    path(
        "submissions/<int:pk>/credibility/",
        credibility_api.CredibilityView.as_view(),
        name="submission-credibility",
    ),
    path(
        "submissions/<int:pk>/credibility.csv",
        credibility_api.CredibilityCSVView.as_view(),
        name="submission-credibility-csv",
    ),
    path(
        "collections/<str:reference>/population/",
        api_population.PopulationView.as_view(),
        name="collection-population",
    ),
    path(
        "collections/<str:reference>/population.xml",
        api_population.PopulationXMLView.as_view(),
        name="collection-population-xml",
    ),
    path("", ApiRootView.as_view(), name="root"),
    path("audit/", audit_api.AuditEventListView.as_view(), name="audit-list"),
    path("submissions/<int:pk>/coverage/", coverage_api.CoverageView.as_view(), name="submission-coverage"),
    path("survey/<str:reference>/contacts/", survey_api.SurveyContactsView.as_view(), name="survey-contacts"),
    *review_urls,
    *contacts_urls,
    *router.urls,
]
