"""Writes for providers, users and API tokens (keyword-only service functions)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from core.audit import audit_record

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
