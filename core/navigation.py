"""Redirects after a form post."""

from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def redirect_back(request, fallback: str):
    """Back to the form's `next` (the page it was posted from), if that is one of our own paths;
    else to `fallback`. Never an open redirect: browsers read "/\\evil.example" as "//evil.example",
    so a leading "/" is not enough."""
    target = request.POST.get("next", "")
    ours = target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if ours else fallback)
