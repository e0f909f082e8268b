"""Browser screens of the portal app: sign-in, dashboards, account, liaison management."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views as account_views
from collections_app import manage_views
from contacts import views_population
from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),  # POST only (Django 5)
    # The second sign-in step, for users with an authenticator app.
    path("login/code/", account_views.otp_verify, name="otp_verify"),
    path("password-reset/", account_views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", account_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        account_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", account_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission_detail"),
    path("account/", account_views.account, name="account"),
    path("account/token/", account_views.token_create, name="token_create"),
    path("account/token/revoke/", account_views.token_revoke, name="token_revoke"),
    path("account/password/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path("account/two-step/set-up/", account_views.otp_setup, name="otp_setup"),
    path("account/two-step/remove/", account_views.otp_remove, name="otp_remove"),
    path("liaison/", views.liaison_home, name="liaison_home"),
    path("liaison/providers/new/", account_views.provider_create, name="provider_create"),
    path("liaison/providers/<int:pk>/edit/", account_views.provider_edit, name="provider_edit"),
    path("liaison/users/", account_views.user_list, name="user_list"),
    path("liaison/users/new/", account_views.user_create, name="user_create"),
    path("liaison/users/<int:pk>/edit/", account_views.user_edit, name="user_edit"),
    path("liaison/users/<int:pk>/survey-token/", account_views.survey_token_issue, name="survey_token_issue"),
    path("liaison/users/<int:pk>/two-step/reset/", account_views.otp_reset, name="otp_reset"),
    path("liaison/collections/new/", manage_views.collection_create, name="collection_create"),
    path("liaison/collections/<str:reference>/edit/", manage_views.collection_edit, name="collection_edit"),
    # Graduate Outcomes: a contact details collection's population
    path("collections/<str:reference>/population/", views_population.population, name="collection_population"),
    path(
        "collections/<str:reference>/population/rebuild/",
        views_population.population_rebuild,
        name="collection_population_rebuild",
    ),
    path(
        "collections/<str:reference>/population.csv",
        views_population.population_csv,
        name="collection_population_csv",
    ),
    path(
        "collections/<str:reference>/population.xml",
        views_population.population_xml,
        name="collection_population_xml",
    ),
]
