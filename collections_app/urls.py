"""Browser screens for collections and submissions."""

from django.urls import path

from . import views

urlpatterns = [
    path("collections/<str:reference>/", views.collection_detail, name="collection_detail"),
    path("collections/<str:reference>/upload/", views.collection_upload, name="collection_upload"),
    path("submissions/<int:pk>/status.json", views.submission_status, name="submission_status"),
    path("submissions/<int:pk>/retry/", views.submission_retry_view, name="submission_retry"),
    path("submissions/<int:pk>/rerun/", views.submission_rerun_view, name="submission_rerun"),
    path("submissions/<int:pk>/reload/", views.submission_reload_view, name="submission_reload"),
    path("submissions/<int:pk>/recheck/", views.submission_recheck_view, name="submission_recheck"),
    path("submissions/<int:pk>/failures/", views.submission_failures, name="submission_failures"),
    path("submissions/<int:pk>/failures.csv", views.submission_failures_csv, name="submission_failures_csv"),
    path(
        "submissions/<int:pk>/schema-errors.csv",
        views.submission_schema_errors_csv,
        name="submission_schema_errors_csv",
    ),
]
