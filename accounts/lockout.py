"""Sign-in lockout (django-axes): the client address it counts by, and the page a locked-out
sign-in gets, saying when to try again."""

from __future__ import annotations

import math
from datetime import datetime

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.shortcuts import render
from django.utils import timezone
from rest_framework.throttling import BaseThrottle


def client_ip(request) -> str | None:
    """The client's address as the API throttles see it: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT
    proxies in front, the X-Forwarded-For entry the outermost trusted proxy added."""
    return BaseThrottle().get_ident(request)


def lockout_ends_at(request, credentials: dict | None) -> datetime | None:
    """When the lockout on this sign-in lifts: the cool-off after the failure that brought the
    count within the window to the limit (failures during the lockout are not counted)."""
    cool_off = get_cool_off(request)
    if cool_off is None:
        return None
    limit = get_failure_limit(request, credentials)
    ends = None
    for attempts in AxesDatabaseHandler().get_user_attempts(request, credentials):
        counted = 0
        for attempt_time, failures in attempts.order_by("-attempt_time").values_list(
            "attempt_time", "failures_since_start"
        ):
            counted += failures
            if counted >= limit:
                ends = max(ends, attempt_time + cool_off) if ends else attempt_time + cool_off
                break
    return ends or timezone.now() + cool_off


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the sign-in page's answer while locked out (429)."""
    ends = lockout_ends_at(request, credentials)
    minutes = max(1, math.ceil((ends - timezone.now()).total_seconds() / 60)) if ends else None
    return render(
        request,
        "registration/locked_out.html",
        {"ends_at": ends, "minutes": minutes, "failure_limit": get_failure_limit(request, credentials)},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
