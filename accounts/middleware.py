"""Keeps the survey platform's service account out of every page.

Its API token reaches only the survey feed (the API's default permission, IsPortalUser, refuses it
elsewhere); this covers a session, should one ever exist (it has no password to sign in with), so no
page written with only `login_required` shows it anything.
"""

from django.core.exceptions import PermissionDenied

from . import permissions

SURVEY_PATH_PREFIX = "/api/v1/survey/"


class ServiceAccountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if permissions.is_survey_platform(user) and not request.path.startswith(SURVEY_PATH_PREFIX):
            raise PermissionDenied("This account may only use the survey feed.")
        return self.get_response(request)
