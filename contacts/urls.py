"""Contact details screens (issue 10): shared details and the graduate web form."""

from django.urls import path

from . import views

urlpatterns = [
    path("collections/<str:reference>/shared-details/", views.shared_details, name="shared_details"),
    path("collections/<str:reference>/shared-details.csv", views.shared_details_csv, name="shared_details_csv"),
    path("collections/<str:reference>/graduates/", views.graduate_list, name="graduate_list"),
    path("collections/<str:reference>/graduates/new/", views.graduate_new, name="graduate_new"),
    path("collections/<str:reference>/graduates/<str:husid>/<str:numhus>/", views.graduate_edit, name="graduate_edit"),
    path(
        "collections/<str:reference>/graduates/<str:husid>/<str:numhus>/delete/",
        views.graduate_delete,
        name="graduate_delete",
    ),
]
