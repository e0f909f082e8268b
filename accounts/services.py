"""Writes for providers, users, API tokens, password audit and second-factor devices (keyword-only
service functions)."""

from __future__ import annotations

import math

import django_otp
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from core.audit import audit_record
from core.errors import ActionRefused

from .models import PROVIDER_ROLES, Provider, Role, User


def user_check_role_provider(*, role: str, provider: Provider | None) -> None:
    """Liaison staff belong to no provider; provider staff to exactly one (the model enforces it too)."""
    if role == Role.LIAISON and provider is not None:
        raise ValidationError({"provider": "Liaison users must not belong to a provider. Leave the provider empty."})
    if role == Role.SURVEY_PLATFORM and provider is not None:
        raise ValidationError(
            {"provider": "The survey platform's account belongs to no provider. Leave the provider empty."}
        )
    if role in PROVIDER_ROLES and provider is None:
        raise ValidationError({"provider": "Choose the provider this user works for: provider roles need one."})


def provider_create(
    *,
    name: str,
    ukprn: str,
    instid: str,
    email_domains: list[str] | None = None,
    switchboard_numbers: list[str] | None = None,
) -> Provider:
    provider = Provider(
        name=name,
        ukprn=ukprn,
        instid=instid,
        email_domains=list(email_domains or []),
        switchboard_numbers=list(switchboard_numbers or []),
    )
    provider.full_clean()
    provider.save()
    return provider


def provider_update(
    *,
    provider: Provider,
    name: str,
    ukprn: str,
    instid: str,
    email_domains: list[str] | None = None,
    switchboard_numbers: list[str] | None = None,
) -> Provider:
    provider.name = name
    provider.ukprn = ukprn
    provider.instid = instid
    provider.email_domains = list(email_domains or [])
    provider.switchboard_numbers = list(switchboard_numbers or [])
    provider.full_clean()
    provider.save()
    return provider


def user_create(
    *,
    actor=None,
    username: str,
    password: str = "",
    role: str,
    provider: Provider | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    is_active: bool = True,
) -> User:
    """Create a portal user. The password must already have passed the password validators (the form does).
    A survey platform account gets no usable password: it signs in with nothing but its API token."""
    user_check_role_provider(role=role, provider=provider)
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        provider=provider,
        is_active=is_active,
    )
    if role == Role.SURVEY_PLATFORM:
        user.set_unusable_password()
    elif not password:
        raise ValidationError({"password1": "A password is needed for this role."})
    else:
        user.set_password(password)
    user.full_clean()
    with transaction.atomic():
        user.save()
        audit_record(
            actor=actor,
            action="user.created",
            summary=f"Created user {user.username} as {user.get_role_display()}"
            + (f" for {provider.name}." if provider else "."),
            provider=provider,
            details={"user_id": user.pk, "username": user.username, "role": role},
        )
    return user


def user_update(
    *,
    actor=None,
    user: User,
    username: str,
    role: str,
    provider: Provider | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    is_active: bool = True,
) -> User:
    user_check_role_provider(role=role, provider=provider)
    with transaction.atomic():
        # Compare with the stored row: a bound ModelForm has already changed the instance in memory.
        stored = User.objects.filter(pk=user.pk).values("provider_id", "is_active", "role").first() or {}
        moved_or_disabled = stored.get("provider_id") != (provider.pk if provider else None) or not is_active
        # A token must not carry over between a person's role and the survey platform's.
        to_or_from_service = Role.SURVEY_PLATFORM in (stored.get("role"), role) and stored.get("role") != role
        user.username = username
        user.email = email
        user.first_name = first_name
        user.last_name = last_name
        user.role = role
        user.provider = provider
        user.is_active = is_active
        if role == Role.SURVEY_PLATFORM:
            user.set_unusable_password()
        user.full_clean()
        user.save()
        if moved_or_disabled or to_or_from_service:
            # A token minted for one provider must not keep working for another (or after leaving).
            Token.objects.filter(user=user).delete()
        if stored.get("role") != role or moved_or_disabled:
            old_role = Role(stored["role"]).label if stored.get("role") in Role.values else "none"
            audit_record(
                actor=actor,
                action="user.role_changed",
                summary=f"User {user.username}: role {old_role} → {user.get_role_display()}"
                + (f" at {provider.name}" if provider else "")
                + ("" if is_active else " (account disabled)")
                + ".",
                provider=provider or (Provider.objects.filter(pk=stored.get("provider_id")).first()),
                details={
                    "user_id": user.pk,
                    "from": {"role": stored.get("role"), "provider_id": stored.get("provider_id")},
                    "to": {"role": role, "provider_id": provider.pk if provider else None, "is_active": is_active},
                },
            )
    return user


def token_replace(*, user: User) -> Token:
    """Issue a new API token for `user`, revoking any existing one (DRF allows one per user)."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


def survey_token_issue(*, actor=None, user: User) -> Token:
    """Liaison issues (or rotates) the survey platform account's API token: the old one stops working.
    Only for a survey platform account: people manage their own token on their account page."""
    if user.role != Role.SURVEY_PLATFORM:
        raise ValidationError("Only a survey platform account's token is issued here.")
    if not user.is_active:
        raise ValidationError("The account is disabled: activate it before issuing a token.")
    with transaction.atomic():
        token = token_replace(user=user)
        audit_record(
            actor=actor,
            action="user.survey_token_issued",
            summary=f"Issued a new API token for the survey platform account {user.username}.",
            details={"user_id": user.pk, "username": user.username},
        )
    return token


def token_revoke(*, user: User) -> bool:
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)


# --- Passwords --------------------------------------------------------------------------------


def password_changed_record(*, user: User) -> None:
    """Audit a password the user changed themselves (Django's password change form did the change)."""
    audit_record(
        actor=user,
        action="password.changed",
        summary=f"User {user.username} changed their password.",
        provider=user.provider,
        details={"user_id": user.pk, "username": user.username},
    )


def password_reset_record(*, user: User) -> None:
    """Audit a password set through an emailed reset link (Django's reset form did the change)."""
    audit_record(
        actor=user,
        action="password.reset",
        summary=f"User {user.username} set a new password through a reset link sent to their email.",
        provider=user.provider,
        details={"user_id": user.pk, "username": user.username},
    )


# --- Second factor (authenticator app, TOTP) --------------------------------------------------

OTP_DEVICE_NAME = "Authenticator app"


def otp_device_for_setup(*, user: User) -> TOTPDevice:
    """The device being set up: the user's unconfirmed one, created (with a new random secret) if needed.
    It does nothing until confirmed with a code."""
    if user.role == Role.SURVEY_PLATFORM:
        raise ActionRefused("The survey platform's account has no second factor.", code="forbidden")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=OTP_DEVICE_NAME, confirmed=False)


def otp_code_check(*, user: User, device: TOTPDevice, code: str) -> TOTPDevice:
    """Check a code against one of the user's devices, through django-otp (which throttles wrong codes:
    after n wrong ones the device refuses every code, right or wrong, for 2^(n-1) seconds).
    Returns the device; raises ActionRefused if throttled or wrong."""
    allowed, info = device.verify_is_allowed()
    if not allowed:
        wait = math.ceil((info["locked_until"] - timezone.now()).total_seconds()) if info.get("locked_until") else 1
        raise ActionRefused(
            f"Too many wrong codes: wait {max(1, wait)} second{'s' if wait > 1 else ''}, then enter the current code.",
            code="otp_throttled",
        )
    # Its own transaction (select_for_update), so a wrong code's throttle count is kept.
    verified = django_otp.verify_token(user, device.persistent_id, code.strip().replace(" ", ""))
    if verified is None:
        raise ActionRefused(
            "That code is not right. Enter the 6-digit code your authenticator app shows now.", code="otp_wrong"
        )
    return verified


def otp_device_confirm(*, user: User, device: TOTPDevice, code: str) -> TOTPDevice:
    """Confirm the device being set up with a current code; it replaces any earlier device."""
    device = otp_code_check(user=user, device=device, code=code)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(
            actor=user,
            action="otp.device_added",
            summary=f"User {user.username} set up an authenticator app for signing in.",
            provider=user.provider,
            details={"user_id": user.pk, "username": user.username},
        )
    return device


def otp_device_remove(*, user: User, code: str) -> None:
    """The user removes their own authenticator app, proving they hold it with a current code."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("pk").first()
    if device is None:
        raise ActionRefused("You have no authenticator app set up.", code="otp_none")
    otp_code_check(user=user, device=device, code=code)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        audit_record(
            actor=user,
            action="otp.device_removed",
            summary=f"User {user.username} removed their authenticator app.",
            provider=user.provider,
            details={"user_id": user.pk, "username": user.username},
        )


def otp_device_reset(*, actor: User, user: User) -> bool:
    """Liaison removes another user's authenticator app (lost phone): they sign in with their password
    alone and may set up a new one. Returns whether there was one."""
    if actor.pk == user.pk:
        raise ActionRefused("Remove your own authenticator app from your account page.", code="otp_own")
    with transaction.atomic():
        deleted, _ = TOTPDevice.objects.filter(user=user).delete()
        if deleted:
            audit_record(
                actor=actor,
                action="otp.device_reset",
                summary=f"Removed the authenticator app of user {user.username}: they sign in with their "
                "password alone until they set up another.",
                provider=user.provider,
                details={"user_id": user.pk, "username": user.username},
            )
    return bool(deleted)
