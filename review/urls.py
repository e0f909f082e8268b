"""Browser screens for review and approval."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("account/notifications/", views.notification_preferences, name="notification_preferences"),
    path("submissions/<int:pk>/approve/", views.submission_approve, name="submission_approve"),
    path("submissions/<int:pk>/overrides/", views.override_request, name="override_request"),
    path("submissions/<int:pk>/queries/", views.query_raise, name="query_raise"),
    path("collections/<str:reference>/tolerances/", views.collection_tolerances, name="collection_tolerances"),
    path("overrides/", views.override_list, name="override_list"),
    path("overrides/<int:pk>/decide/", views.override_decide, name="override_decide"),
    path("queries/", views.query_list, name="query_list"),
    path("queries/<int:pk>/", views.query_detail, name="query_detail"),
    path("queries/<int:pk>/respond/", views.query_respond, name="query_respond"),
    path("queries/<int:pk>/accept/", views.query_accept, name="query_accept"),
    path("queries/<int:pk>/reopen/", views.query_reopen, name="query_reopen"),
    path(
        "liaison/providers/<str:ukprn>/collections/<str:reference>/sign-off/",
        views.collection_sign_off,
        name="collection_sign_off",
    ),
    path(
        "liaison/providers/<str:ukprn>/collections/<str:reference>/return/",
        views.collection_return,
        name="collection_return",
    ),
    path("liaison/grid/", views.liaison_grid, name="liaison_grid"),
    # Eight digits only: "liaison/providers/new/" (portal.web_urls) is another page.
    re_path(r"^liaison/providers/(?P<ukprn>\d{8})/$", views.liaison_provider, name="liaison_provider"),
    path("liaison/grid.csv", views.liaison_grid_csv, name="liaison_grid_csv"),
]
