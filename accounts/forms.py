"""Liaison forms for providers and users. They validate input; services do the writing."""

from __future__ import annotations

import re

import phonenumbers
from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError

from .models import Provider, Role, User
from .services import user_check_role_provider

_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _non_empty_lines(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            seen.setdefault(line, None)
    return list(seen)


class ProviderForm(forms.ModelForm):
    email_domains = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, e.g. glos.ac.uk. Used to recognise the provider's own email addresses.",
    )
    switchboard_numbers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, e.g. 01242 714700. Stored in international format (+441242714700).",
    )

    class Meta:
        model = Provider
        fields = ["name", "ukprn", "instid", "email_domains", "switchboard_numbers"]
        help_texts = {"ukprn": "8 digits.", "instid": "4 digits."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The model stores lists; the textarea shows one item per line.
        for name in ("email_domains", "switchboard_numbers"):
            value = self.initial.get(name)
            if isinstance(value, list):
                self.initial[name] = "\n".join(value)

    def clean_email_domains(self) -> list[str]:
        domains = [line.lower().removeprefix("@") for line in _non_empty_lines(self.cleaned_data["email_domains"])]
        bad = [d for d in domains if not _DOMAIN.match(d)]
        if bad:
            raise ValidationError(
                "Not a domain name: %(bad)s. Give the part after the @, like glos.ac.uk.",
                params={"bad": ", ".join(bad)},
            )
        return list(dict.fromkeys(domains))

    def clean_switchboard_numbers(self) -> list[str]:
        numbers, bad = [], []
        for line in _non_empty_lines(self.cleaned_data["switchboard_numbers"]):
            try:
                parsed = phonenumbers.parse(line, "GB")
            except phonenumbers.NumberParseException:
                bad.append(line)
                continue
            if not phonenumbers.is_possible_number(parsed):
                bad.append(line)
                continue
            # One canonical form so the contact-details rules can compare numbers exactly.
            numbers.append(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
        if bad:
            raise ValidationError("Not a phone number: %(bad)s.", params={"bad": ", ".join(bad)})
        return list(dict.fromkeys(numbers))


class UserForm(forms.ModelForm):
    """Edit a user. Liaison users have no provider; provider roles must have one."""

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email", "role", "provider", "is_active"]
        labels = {"is_active": "Active (can sign in)"}
        help_texts = {
            "provider": "Required for provider users and approvers; leave empty for liaison staff and the "
            "survey platform (a service account that reads the survey feed with its API token).",
            "is_active": "Clear this instead of deleting a user: their uploads stay attributed to them.",
        }

    def __init__(self, *args, acting_user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.acting_user = acting_user
        self.fields["provider"].required = False
        self.fields["provider"].empty_label = "No provider (liaison staff, survey platform)"
        self.fields["email"].required = True

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role")
        if role and "provider" not in self.errors:
            try:
                user_check_role_provider(role=role, provider=cleaned.get("provider"))
            except ValidationError as error:
                self.add_error(None, error)
        editing_self = self.instance.pk and self.acting_user and self.instance.pk == self.acting_user.pk
        if editing_self and (role != Role.LIAISON or not cleaned.get("is_active")):
            raise ValidationError("You cannot remove your own liaison access: ask another liaison user to do it.")
        return cleaned


class UserCreateForm(UserForm):
    """Create a user with an initial password, checked by Django's password validators."""

    password1 = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_password2(self):
        password1 = self.cleaned_data.get("password1")
        password2 = self.cleaned_data.get("password2")
        if password1 and password2 and password1 != password2:
            raise ValidationError("The two passwords do not match.")
        return password2

    def clean(self):
        cleaned = super().clean()
        # The survey platform signs in with its API token only; everyone else needs a password.
        if cleaned.get("role") != Role.SURVEY_PLATFORM:
            for name in ("password1", "password2"):
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, "This field is required.")
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        # Checked after the instance has its username and names: the similarity validator uses them.
        password = self.cleaned_data.get("password2")
        if password and self.cleaned_data.get("role") != Role.SURVEY_PLATFORM:
            try:
                password_validation.validate_password(password, self.instance)
            except ValidationError as error:
                self.add_error("password1", error)


class OTPCodeForm(forms.Form):
    """A code from the user's authenticator app (checked by the service, which throttles wrong ones)."""

    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=12,
        help_text="6 digits. A new code shows every 30 seconds.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false", "size": 8}
        ),
    )

    def clean_code(self) -> str:
        code = re.sub(r"\s+", "", self.cleaned_data["code"])
        if not re.fullmatch(r"\d{6,8}", code):
            raise ValidationError("Enter the 6 digits your authenticator app shows.")
        return code


class PortalPasswordResetForm(PasswordResetForm):
    """Django's reset form (the same answer whether or not the address is known), never emailing
    the survey platform's service account, which has no password to reset."""

    def get_users(self, email):
        return (user for user in super().get_users(email) if user.role != Role.SURVEY_PLATFORM)
