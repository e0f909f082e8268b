from django.urls import path

from . import views_coverage

urlpatterns = [
    path("submissions/<int:pk>/coverage/", views_coverage.submission_coverage, name="submission_coverage"),
    path(
        "submissions/<int:pk>/coverage/nothing-usable.csv",
        views_coverage.nothing_usable_csv,
        name="submission_coverage_nothing_usable_csv",
    ),
]
