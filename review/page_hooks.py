"""What review adds to other apps' pages through their registries (registered in ReviewConfig.ready):
the account page's notification preferences, and the warning above the upload form of a signed-off
collection."""

from __future__ import annotations

from django.template.loader import render_to_string

from . import notifications, selectors


def notification_preferences_section(request) -> str:
    kinds = notifications.kinds_for(request.user)
    if not kinds:
        return ""
    off = notifications.disabled_kinds(request.user)
    return render_to_string(
        "review/_notification_preferences.html",
        {"choices": [(kind, kind.code not in off) for kind in kinds]},
        request=request,
    )


def signed_off_upload_notice(*, provider, collection) -> str | None:
    if selectors.current_sign_off(provider=provider, collection=collection) is None:
        return None
    return "This collection is signed off: a new upload reopens the sign-off and needs approval again."
