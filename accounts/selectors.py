"""Reads for providers and users."""

from __future__ import annotations

from django.db.models import Q
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.sorting import resolve_sort

from .models import User

USER_SORTS = {
    "username": ("username",),
    "name": ("last_name", "first_name", "username"),
    "email": ("email", "username"),
    "role": ("role", "username"),
    "provider": ("provider__name", "username"),
    "active": ("is_active", "username"),
}


def user_list(*, q: str = "", sort: str = "") -> tuple[list[User], str]:
    order_by, effective = resolve_sort(sort, table="users", allowed=USER_SORTS, default="users.username")
    users = User.objects.select_related("provider")
    if q:
        users = users.filter(
            Q(username__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(email__icontains=q)
            | Q(provider__name__icontains=q)
            | Q(provider__ukprn__startswith=q)
        )
    return list(users.order_by(*order_by)), effective


def otp_device(*, user) -> TOTPDevice | None:
    """The user's confirmed authenticator app (TOTP device), if they have set one up."""
    if not getattr(user, "is_authenticated", False):
        return None
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("pk").first()
