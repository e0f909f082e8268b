"""API authentication with throttling that runs before the permission check.

DRF checks throttles after permissions, so a request with a bad token (401 from
authentication) or none (401 from IsAuthenticated) never reaches DEFAULT_THROTTLE_CLASSES.
These classes throttle such requests where they are decided.
"""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication, TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle


class _AddressThrottle(SimpleRateThrottle):
    """Counted per client address; never touches request.user (authentication is still running)."""

    def get_cache_key(self, request, view=None):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def wait_if_blocked(self, request) -> float | None:
        """Seconds until this address may try again, or None if it may now (records nothing)."""
        self.key = self.get_cache_key(request)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.wait()
        return None

    def record(self, request) -> None:
        self.wait_if_blocked(request)
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


class TokenFailureThrottle(_AddressThrottle):
    scope = "token_failure"


class AnonymousRateThrottle(_AddressThrottle, AnonRateThrottle):
    scope = "anon"


class ThrottledTokenAuthentication(TokenAuthentication):
    """Token authentication that counts failed tokens per address (rate `token_failure`); once
    over the rate, every token from that address is refused with 429 until the window passes,
    a right one included, so guessing cannot go on."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        throttle = TokenFailureThrottle()
        wait = throttle.wait_if_blocked(request)
        if wait is not None:
            raise Throttled(wait, detail="Too many requests with an invalid token from this address.")
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            throttle.record(request)
            raise


class AnonymousThrottle(BaseAuthentication):
    """Last authentication class, so reached only by requests no other class authenticated:
    applies the `anon` rate to them before the permission check answers 401."""

    def authenticate(self, request):
        throttle = AnonymousRateThrottle()
        wait = throttle.wait_if_blocked(request)
        if wait is not None:
            raise Throttled(wait)
        throttle.record(request)
        return None
