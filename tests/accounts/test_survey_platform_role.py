"""The survey platform role: a service account with no provider and no password, whose token liaison issues."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from accounts import services
from accounts.forms import UserCreateForm
from accounts.models import Role, User

from .. import factories


def test_the_role_has_no_provider(provider):
    with pytest.raises(ValidationError):
        services.user_create(username="svc", role=Role.SURVEY_PLATFORM, provider=provider)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="svc2", role=Role.SURVEY_PLATFORM, provider=provider)


def test_passwords_are_required_for_people_only(liaison, provider):
    data = {"username": "svc", "email": "s@x.example", "first_name": "S", "last_name": "P", "is_active": "on"}
    form = UserCreateForm({**data, "role": "survey_platform"}, acting_user=liaison)
    assert form.is_valid(), form.errors
    form = UserCreateForm({**data, "role": "provider_user", "provider": provider.pk}, acting_user=liaison)
    assert not form.is_valid() and "password1" in form.errors
    with pytest.raises(ValidationError):
        services.user_create(username="nopass", role=Role.PROVIDER_USER, provider=provider)


def test_turning_a_person_into_the_survey_platform_drops_their_token_and_password(liaison):
    person = factories.LiaisonFactory(username="was_liaison")
    Token.objects.create(user=person)
    services.user_update(actor=liaison, user=person, username=person.username, role=Role.SURVEY_PLATFORM)
    person.refresh_from_db()
    assert not Token.objects.filter(user=person).exists() and not person.has_usable_password()


def test_token_issue_only_for_active_survey_accounts(liaison):
    with pytest.raises(ValidationError):
        services.survey_token_issue(user=liaison)
    svc = services.user_create(username="svc", role=Role.SURVEY_PLATFORM, is_active=False)
    with pytest.raises(ValidationError):
        services.survey_token_issue(user=svc)
    svc.is_active = True
    svc.save()
    first = services.survey_token_issue(actor=liaison, user=svc).key
    assert services.survey_token_issue(actor=liaison, user=svc).key != first
    assert Token.objects.filter(user=svc).count() == 1
