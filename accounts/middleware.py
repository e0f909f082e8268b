"""Who may see pages: the survey platform's service account never; a user with an authenticator app
only once the session has had its code.

ServiceAccountMiddleware: the survey platform's API token reaches only the survey feed (the API's
default permission, IsPortalUser, refuses it elsewhere); this covers a session, should one ever
exist (it has no password to sign in with), so no page written with only `login_required` shows it
anything.
"""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse

from . import permissions, selectors

SURVEY_PATH_PREFIX = "/api/v1/survey/"
API_PATH_PREFIX = "/api/"


class ServiceAccountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if permissions.is_survey_platform(user) and not request.path.startswith(SURVEY_PATH_PREFIX):
            raise PermissionDenied("This account may only use the survey feed.")
        return self.get_response(request)


# Pages an unverified session may still reach: the code (or set-up) page itself, and signing out.
_VERIFY_OPEN = ("otp_verify", "logout")
_SETUP_OPEN = ("otp_setup", "logout")


class SecondFactorMiddleware:
    """A signed-in user with a confirmed authenticator app gets no page until this session has had
    a current code (the code page, after the password); with REQUIRE_LIAISON_OTP, liaison staff
    without one get no page but the set-up page. After django_otp's OTPMiddleware.

    API requests with a token are not affected (the token is the credential); on the API such a
    session counts for nothing, so the request is anonymous unless it has a token."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        step = second_factor_step(request.user)
        if step is None:
            return self.get_response(request)
        if request.path.startswith(API_PATH_PREFIX):
            # Whatever else the request carries: only an API token may authenticate it now.
            request.user = AnonymousUser()
            return self.get_response(request)
        open_paths = {reverse(name) for name in (_VERIFY_OPEN if step == "verify" else _SETUP_OPEN)}
        if request.path in open_paths:
            return self.get_response(request)
        target = reverse("otp_verify" if step == "verify" else "otp_setup")
        if request.method != "GET":
            return redirect(target)
        return redirect_to_login(request.get_full_path(), login_url=target)


def second_factor_step(user) -> str | None:
    """What a session still owes: "verify" (a code), "setup" (an authenticator app), or None."""
    if not permissions.is_portal_user(user) or getattr(user, "is_verified", bool)():
        return None
    if selectors.otp_device(user=user) is not None:
        return "verify"
    if settings.REQUIRE_LIAISON_OTP and permissions.is_liaison(user):
        return "setup"
    return None
