"""Account page (API tokens, password, second factor), password reset, the sign-in code step, and
liaison management of providers and users. Thin views."""

from __future__ import annotations

from base64 import b32encode

import django_otp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from core.errors import ActionRefused
from core.forms import form_add_service_errors

from . import account_page, permissions, selectors, services
from .decorators import liaison_required
from .forms import OTPCodeForm, PortalPasswordResetForm, ProviderForm, UserCreateForm, UserForm
from .models import Provider, Role, User

# A new key is kept in the session only until the next account page view shows it, once.
_SHOW_ONCE_SESSION_KEY = "portal_new_api_token"
# Likewise a survey platform account's new key, shown once on its user page: {"user": pk, "key": key}.
_SHOW_ONCE_SURVEY_KEY = "portal_new_survey_token"


# --- Account ----------------------------------------------------------------------------------


@never_cache  # the page may show a new token's key
@login_required
def account(request):
    new_key = request.session.pop(_SHOW_ONCE_SESSION_KEY, None)
    token = Token.objects.filter(user=request.user).first()
    return render(
        request,
        "accounts/account.html",
        {
            "token": token,
            "new_key": new_key if token and token.key == new_key else None,
            "api_root": request.build_absolute_uri("/api/v1/"),
            # Added by other apps (review: the notification emails the user wants).
            "sections": account_page.sections(request),
            "otp_device": selectors.otp_device(user=request.user),
        },
    )


@require_POST
@login_required
def token_create(request):
    token = services.token_replace(user=request.user)
    request.session[_SHOW_ONCE_SESSION_KEY] = token.key
    messages.success(request, "A new API token was created. Any previous token no longer works.")
    return redirect("account")


@require_POST
@login_required
def token_revoke(request):
    if services.token_revoke(user=request.user):
        messages.success(request, "Your API token was revoked: it no longer works.")
    else:
        messages.info(request, "You had no API token.")
    return redirect("account")


# --- Passwords (Django's own views, with the portal's templates and an audit entry) --------------


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's password (the old one is required). Other sessions of the user end (Django's
    session hash); this one continues, still verified."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("account")

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            services.password_changed_record(user=form.user)
        messages.success(
            self.request, "Your password was changed. Anywhere else you were signed in, you are now signed out."
        )
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for a reset link by email. The answer is the same whether or not the address is known."""

    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    form_class = PortalPasswordResetForm


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "timeout_minutes": settings.PASSWORD_RESET_TIMEOUT // 60}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Set a new password from the emailed link (which works once: the token is bound to the old
    password). It does not sign in: the new password goes through the sign-in form, its lockout
    (django-axes) and the second factor like any other."""

    template_name = "registration/password_reset_confirm.html"

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        # The survey platform's account has no password: no link ever works for it.
        return None if user is not None and user.role == Role.SURVEY_PLATFORM else user

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            services.password_reset_record(user=form.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"


# --- Second factor (authenticator app) -------------------------------------------------------


def _next_url(request, default: str = settings.LOGIN_REDIRECT_URL) -> str:
    """Where to go after the code: the `next` the sign-in carried, if it is one of ours."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return resolve_url(default)


def _verified(request, device) -> None:
    # A new session key for the now fully signed-in session, then mark it verified (django-otp).
    request.session.cycle_key()
    django_otp.login(request, device)


@never_cache
@login_required
def otp_verify(request):
    """The second sign-in step: a current code from the user's authenticator app."""
    device = selectors.otp_device(user=request.user)
    next_url = _next_url(request)
    if device is None or request.user.is_verified():
        return redirect(next_url)
    form = OTPCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.otp_code_check(user=request.user, device=device, code=form.cleaned_data["code"])
        except ActionRefused as refused:
            form.add_error("code", refused.message)
        else:
            _verified(request, device)
            return redirect(next_url)
    return render(request, "accounts/otp_verify.html", {"form": form, "next": next_url})


@never_cache  # the page shows the secret
@login_required
def otp_setup(request):
    """Set up an authenticator app: scan the QR code (or type the secret), confirm with a code."""
    if selectors.otp_device(user=request.user) is not None:
        messages.info(request, "You already have an authenticator app. Remove it first to set up another.")
        return redirect("account")
    device = services.otp_device_for_setup(user=request.user)
    form = OTPCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.otp_device_confirm(user=request.user, device=device, code=form.cleaned_data["code"])
        except ActionRefused as refused:
            form.add_error("code", refused.message)
        else:
            _verified(request, device)
            messages.success(request, "Your authenticator app is set up: signing in now asks for its code.")
            return redirect(_next_url(request, default="account"))
    uri = device.config_url
    secret = b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/otp_setup.html",
        {
            "form": form,
            "qr_data_uri": segno.make(uri, error="m").svg_data_uri(scale=4, border=2),
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
            "required": settings.REQUIRE_LIAISON_OTP and permissions.is_liaison(request.user),
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
    )


@never_cache
@login_required
def otp_remove(request):
    """Remove one's authenticator app, with a current code from it."""
    if selectors.otp_device(user=request.user) is None:
        messages.info(request, "You have no authenticator app set up.")
        return redirect("account")
    form = OTPCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.otp_device_remove(user=request.user, code=form.cleaned_data["code"])
        except ActionRefused as refused:
            form.add_error("code", refused.message)
        else:
            messages.success(request, "Your authenticator app was removed: signing in asks for your password only.")
            return redirect("account")
    return render(request, "accounts/otp_remove.html", {"form": form})


@require_POST
@liaison_required
def otp_reset(request, pk: int):
    """Liaison removes another user's authenticator app (e.g. a lost phone)."""
    edited_user = get_object_or_404(User, pk=pk)
    try:
        had_one = services.otp_device_reset(actor=request.user, user=edited_user)
    except ActionRefused as refused:
        messages.error(request, refused.message)
    else:
        if had_one:
            messages.success(request, f"The authenticator app of {edited_user.username} was removed.")
        else:
            messages.info(request, f"{edited_user.username} had no authenticator app.")
    return redirect("user_edit", pk=edited_user.pk)


# --- Providers --------------------------------------------------------------------------------


@liaison_required
def provider_create(request):
    form = ProviderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            provider = services.provider_create(**form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"Provider {provider.name} created.")
            return redirect("liaison_home")
    return render(request, "liaison/provider_form.html", {"form": form, "provider": None, "title": "New provider"})


@liaison_required
def provider_edit(request, pk: int):
    provider = get_object_or_404(Provider, pk=pk)
    title = f"Edit {provider.name}"  # before the form changes the instance in memory
    form = ProviderForm(request.POST or None, instance=provider)
    if request.method == "POST" and form.is_valid():
        try:
            services.provider_update(provider=provider, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"Provider {provider.name} saved.")
            return redirect("liaison_home")
    return render(request, "liaison/provider_form.html", {"form": form, "provider": provider, "title": title})


# --- Users ------------------------------------------------------------------------------------


@liaison_required
def user_list(request):
    q = request.GET.get("q", "").strip()
    users, sort = selectors.user_list(q=q, sort=request.GET.get("sort", ""))
    return render(request, "liaison/user_list.html", {"users": users, "q": q, "active_sorts": [sort]})


@liaison_required
def user_create(request):
    form = UserCreateForm(request.POST or None, acting_user=request.user)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("password1", "password2")}
        try:
            user = services.user_create(actor=request.user, password=form.cleaned_data["password1"], **data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"User {user.username} created.")
            return redirect("user_list")
    return render(request, "liaison/user_form.html", {"form": form, "edited_user": None, "title": "New user"})


@never_cache  # the page may show a survey platform account's new token
@liaison_required
def user_edit(request, pk: int):
    edited_user = get_object_or_404(User.objects.select_related("provider"), pk=pk)
    title = f"Edit user {edited_user.username}"
    form = UserForm(request.POST or None, instance=edited_user, acting_user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(actor=request.user, user=edited_user, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"User {edited_user.username} saved.")
            return redirect("user_list")
    shown = request.session.pop(_SHOW_ONCE_SURVEY_KEY, None) if request.method == "GET" else None
    survey_token = Token.objects.filter(user=edited_user).first() if edited_user.is_survey_platform else None
    return render(
        request,
        "liaison/user_form.html",
        {
            "form": form,
            "edited_user": edited_user,
            "title": title,
            "survey_token": survey_token,
            "has_otp_device": selectors.otp_device(user=edited_user) is not None,
            "new_survey_key": shown["key"]
            if shown and shown.get("user") == edited_user.pk and survey_token and survey_token.key == shown["key"]
            else None,
        },
    )


@require_POST
@liaison_required
def survey_token_issue(request, pk: int):
    """Issue or rotate the survey platform account's token; its user page shows the key once."""
    edited_user = get_object_or_404(User, pk=pk)
    try:
        token = services.survey_token_issue(actor=request.user, user=edited_user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        request.session[_SHOW_ONCE_SURVEY_KEY] = {"user": edited_user.pk, "key": token.key}
        messages.success(request, "A new API token was issued. The previous token no longer works.")
    return redirect("user_edit", pk=edited_user.pk)
