"""Browser screens of the credibility app."""

from django.urls import path

from . import views

urlpatterns = [
    path("submissions/<int:pk>/credibility/", views.credibility, name="credibility"),
    path("submissions/<int:pk>/credibility.csv", views.credibility_csv, name="credibility_csv"),
    path("submissions/<int:pk>/credibility/explain/", views.explain, name="credibility_explain"),
    path(
        "submissions/<int:pk>/credibility/<slug:table>/<str:category>/",
        views.cell_records,
        name="credibility_cell",
    ),
    path(
        "submissions/<int:pk>/credibility/<slug:table>/<str:category>.csv",
        views.cell_records_csv,
        name="credibility_cell_csv",
    ),
    path("collections/<str:reference>/credibility-threshold/", views.threshold, name="credibility_threshold"),
]
