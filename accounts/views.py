"""Account page (API tokens) and liaison management of providers and users. Thin views."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from core.forms import form_add_service_errors

from . import account_page, selectors, services
from .decorators import liaison_required
from .forms import ProviderForm, UserCreateForm, UserForm
from .models import Provider, User

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
