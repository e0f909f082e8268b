"""Request id and log context for every request (see core/logs.py)."""

import re

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
