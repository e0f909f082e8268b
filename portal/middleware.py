"""Request id and log context for every request (see core/logs.py), and a page for 405s."""

import re

from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from core import logs

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's request id is kept if it looks like one (so its logs and ours join up); else ours.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestLogContextMiddleware:
    """Binds the request id, user and provider for the request's log lines (and its tasks'), and
    answers the request id in X-Request-ID. After AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SAFE_ID.match(incoming) else logs.new_request_id()
        request.request_id = request_id
        logs.clear()
        user = getattr(request, "user", None)
        authenticated = user is not None and user.is_authenticated
        provider = getattr(user, "provider", None) if authenticated else None
        logs.bind(
            request_id=request_id,
            user=user.get_username() if authenticated else None,
            provider=getattr(provider, "ukprn", None),
        )
        try:
            response = self.get_response(request)
        finally:
            logs.clear()
        response[REQUEST_ID_HEADER] = request_id
        return response


class MethodNotAllowedPageMiddleware:
    """A page, not a blank screen, when a browser opens an address that only takes a form (a
    bookmark, a link copied from the address bar, a sign-in that returns to `next=` such an
    address). The API's own 405 answers (JSON) and any response with content are left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or response.streaming or response.content or request.path.startswith("/api/"):
            return response
        # The action's page is usually the address without its last part (/submissions/12/approve/).
        parent = request.path.rstrip("/").rsplit("/", 1)[0] + "/"
        back = parent if parent != "/" and url_has_allowed_host_and_scheme(parent, allowed_hosts=None) else ""
        page = render(request, "405.html", {"back": back}, status=405)
        page["Allow"] = response.get("Allow", "")
        return page
