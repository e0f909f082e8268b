"""Liaison forms and the services behind them: providers, users, collections."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.forms import ProviderForm, UserCreateForm, UserForm
from accounts.models import Provider, Role, User
from collections_app import collection_services
from collections_app.forms import CollectionForm
from collections_app.models import Collection, CollectionKind

from .. import factories

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def liaison_client(client, liaison):
    client.force_login(liaison)
    return client


# --- Providers ----------------------------------------------------------------------------------


def provider_data(**overrides):
    data = {
        "name": "University of Somewhere",
        "ukprn": "10012345",
        "instid": "0123",
        "email_domains": "somewhere.ac.uk\n\n@Students.Somewhere.ac.uk\nsomewhere.ac.uk\n",
        "switchboard_numbers": "01242 714700\n+44 20 7946 0000\n",
    }
    data.update(overrides)
    return data


def test_provider_create_stores_lists(liaison_client):
    response = liaison_client.post(reverse("provider_create"), provider_data())
    assert response.status_code == 302
    provider = Provider.objects.get(ukprn="10012345")
    assert provider.email_domains == ["somewhere.ac.uk", "students.somewhere.ac.uk"]
    assert provider.switchboard_numbers == ["+441242714700", "+442079460000"]


@pytest.mark.parametrize("ukprn", ["1234567", "123456789", "1001234X", ""])
def test_provider_bad_ukprn_is_rejected(liaison_client, ukprn):
    response = liaison_client.post(reverse("provider_create"), provider_data(ukprn=ukprn))
    assert response.status_code == 200
    assert "ukprn" in response.context["form"].errors
    assert not Provider.objects.filter(name="University of Somewhere").exists()


def test_provider_duplicate_ukprn_and_bad_instid(liaison_client, provider):
    response = liaison_client.post(reverse("provider_create"), provider_data(ukprn=provider.ukprn, instid="12"))
    errors = response.context["form"].errors
    assert "ukprn" in errors and "instid" in errors
    assert "There is a problem" in response.content.decode()


def test_provider_bad_domain_and_phone():
    form = ProviderForm(data=provider_data(email_domains="not a domain\nok.ac.uk", switchboard_numbers="call us"))
    assert not form.is_valid()
    assert "not a domain" in form.errors["email_domains"][0]
    assert "call us" in form.errors["switchboard_numbers"][0]


def test_provider_edit_shows_lists_one_per_line(liaison_client, provider):
    provider.email_domains = ["glos.ac.uk", "connect.glos.ac.uk"]
    provider.save()
    response = liaison_client.get(reverse("provider_edit", args=[provider.pk]))
    assert "glos.ac.uk\nconnect.glos.ac.uk" in response.content.decode()

    response = liaison_client.post(
        reverse("provider_edit", args=[provider.pk]),
        provider_data(ukprn=provider.ukprn, instid=provider.instid, name="Renamed", email_domains="glos.ac.uk"),
    )
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.name == "Renamed"
    assert provider.email_domains == ["glos.ac.uk"]


def test_provider_service_validates_without_a_form():
    with pytest.raises(ValidationError) as excinfo:
        services.provider_create(name="X", ukprn="123", instid="0001")
    assert "ukprn" in excinfo.value.message_dict


# --- Users --------------------------------------------------------------------------------------


def user_data(**overrides):
    data = {
        "username": "newbie",
        "first_name": "New",
        "last_name": "Person",
        "email": "newbie@example.com",
        "role": Role.PROVIDER_USER,
        "provider": "",
        "is_active": "on",
        "password1": "a-much-longer passphrase 42",
        "password2": "a-much-longer passphrase 42",
    }
    data.update(overrides)
    return data


def test_user_create(liaison_client, provider):
    response = liaison_client.post(reverse("user_create"), user_data(provider=provider.pk))
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.provider == provider
    assert user.check_password("a-much-longer passphrase 42")


def test_liaison_with_provider_is_rejected(liaison_client, provider):
    response = liaison_client.post(reverse("user_create"), user_data(role=Role.LIAISON, provider=provider.pk))
    assert response.status_code == 200
    assert "Liaison users must not belong to a provider" in response.context["form"].errors["provider"][0]
    assert not User.objects.filter(username="newbie").exists()


@pytest.mark.parametrize("role", [Role.PROVIDER_USER, Role.PROVIDER_APPROVER])
def test_provider_role_without_provider_is_rejected(liaison_client, role):
    response = liaison_client.post(reverse("user_create"), user_data(role=role))
    assert response.status_code == 200
    assert "Choose the provider" in response.context["form"].errors["provider"][0]
    assert not User.objects.filter(username="newbie").exists()


def test_liaison_without_provider_is_accepted(liaison_client):
    response = liaison_client.post(reverse("user_create"), user_data(role=Role.LIAISON))
    assert response.status_code == 302
    assert User.objects.get(username="newbie").provider is None


@pytest.mark.parametrize(
    "password1,password2,message",
    [
        ("short", "short", "too short"),
        ("password123", "password123", "too common"),
        ("a-much-longer passphrase 42", "a different one entirely!", "do not match"),
        ("newbie123", "newbie123", "too similar"),
    ],
)
def test_user_create_password_validation(provider, password1, password2, message):
    form = UserCreateForm(data=user_data(provider=provider.pk, password1=password1, password2=password2))
    assert not form.is_valid()
    assert message in str(form.errors)


def test_liaison_cannot_remove_own_access(liaison_client, liaison):
    data = user_data(username=liaison.username, role=Role.LIAISON, is_active="")
    response = liaison_client.post(reverse("user_edit", args=[liaison.pk]), data)
    assert response.status_code == 200
    assert "cannot remove your own liaison access" in str(response.context["form"].errors)
    liaison.refresh_from_db()
    assert liaison.is_active


def test_user_edit_changes_role(liaison_client, provider_user, provider):
    data = user_data(username=provider_user.username, role=Role.PROVIDER_APPROVER, provider=provider.pk)
    response = liaison_client.post(reverse("user_edit", args=[provider_user.pk]), data)
    assert response.status_code == 302
    provider_user.refresh_from_db()
    assert provider_user.role == Role.PROVIDER_APPROVER


def test_user_form_edit_does_not_require_password(provider_user, provider):
    form = UserForm(data=user_data(username="pat", provider=provider.pk), instance=provider_user)
    assert form.is_valid(), form.errors


def test_user_service_rejects_role_provider_mismatch(provider):
    with pytest.raises(ValidationError) as excinfo:
        services.user_create(username="x", password="irrelevant-here-123", role=Role.LIAISON, provider=provider)
    assert "provider" in excinfo.value.message_dict


def test_user_list_filters(liaison_client, provider_user, other_user):
    response = liaison_client.get(reverse("user_list"), {"q": "10000001"})  # other provider's UKPRN
    assert [u.username for u in response.context["users"]] == ["olly"]


# --- Collections --------------------------------------------------------------------------------


def collection_data(**overrides):
    data = {
        "reference": "C24051",
        "name": "Student record 2024/25",
        "kind": CollectionKind.STUDENT_RECORD,
        "reporting_year": "2024",
        "cohort": "",
        "opens": "2024-08-01T09:00",
        "approval_deadline": "2025-07-21T17:00",
        "final_updates_deadline": "",
        "contact_period_start": "",
        "contact_period_end": "",
        "previous": "",
    }
    data.update(overrides)
    return data


def test_collection_create_reads_times_as_uk_time(liaison_client, collection):
    response = liaison_client.post(reverse("collection_create"), collection_data(previous=collection.pk))
    assert response.status_code == 302
    created = Collection.objects.get(reference="C24051")
    # 09:00 on 1 Aug is British Summer Time: 08:00 UTC.
    assert created.opens == datetime(2024, 8, 1, 9, 0, tzinfo=LONDON)
    assert created.opens.astimezone(ZoneInfo("UTC")).hour == 8
    assert created.previous == collection


def test_collection_edit_form_shows_uk_time(liaison_client):
    factories.CollectionFactory(
        reference="C24051",
        reporting_year=2024,
        opens=datetime(2024, 8, 1, 8, 0, tzinfo=ZoneInfo("UTC")),
        approval_deadline=datetime(2025, 1, 10, 17, 0, tzinfo=ZoneInfo("UTC")),
    )
    content = liaison_client.get(reverse("collection_edit", args=["C24051"])).content.decode()
    assert 'value="2024-08-01T09:00"' in content  # BST
    assert 'value="2025-01-10T17:00"' in content  # GMT


def test_approval_deadline_must_follow_opens(liaison_client):
    response = liaison_client.post(
        reverse("collection_create"), collection_data(opens="2025-08-01T09:00", approval_deadline="2025-07-21T17:00")
    )
    assert response.status_code == 200
    assert "after the collection opens" in response.context["form"].errors["approval_deadline"][0]
    assert not Collection.objects.filter(reference="C24051").exists()


def test_final_updates_not_before_approval(liaison_client):
    response = liaison_client.post(
        reverse("collection_create"), collection_data(final_updates_deadline="2025-07-20T17:00")
    )
    assert response.status_code == 200
    assert "cannot be before the approval deadline" in response.context["form"].errors["final_updates_deadline"][0]


def test_final_updates_after_approval_is_fine():
    form = CollectionForm(data=collection_data(final_updates_deadline="2025-10-01T17:00"))
    assert form.is_valid(), form.errors


def test_contact_details_need_cohort_and_period():
    form = CollectionForm(
        data=collection_data(reference="C23071", name="GO contact details", kind=CollectionKind.CONTACT_DETAILS)
    )
    assert not form.is_valid()
    assert {"cohort", "contact_period_start", "contact_period_end"} <= set(form.errors)

    form = CollectionForm(
        data=collection_data(
            reference="C23071",
            kind=CollectionKind.CONTACT_DETAILS,
            cohort="A",
            approval_deadline="2024-11-15T17:00",  # before the contact period, as it must be
            contact_period_start="2024-12-01",
            contact_period_end="2025-02-28",
        )
    )
    assert form.is_valid(), form.errors


def test_student_record_cannot_have_cohort_or_contact_period():
    form = CollectionForm(data=collection_data(cohort="B", contact_period_start="2024-12-01"))
    assert not form.is_valid()
    assert "Only contact details collections have a cohort" in form.errors["cohort"][0]
    assert "contact_period_start" in form.errors


def test_previous_must_be_same_kind_and_earlier(collection):
    later = factories.CollectionFactory(reference="C25051", reporting_year=2025)
    form = CollectionForm(data=collection_data(previous=later.pk))
    assert not form.is_valid()
    assert "earlier reporting year" in form.errors["previous"][0]


def test_collection_edit_saves(liaison_client, collection):
    data = collection_data(reference=collection.reference, reporting_year="2023", name="Renamed")
    response = liaison_client.post(reverse("collection_edit", args=[collection.reference]), data)
    assert response.status_code == 302
    collection.refresh_from_db()
    assert collection.name == "Renamed"


def test_collection_in_use_keeps_reference_and_kind(liaison_client, collection, provider):
    factories.SubmissionFactory(provider=provider, collection=collection)
    form = CollectionForm(instance=collection)
    assert form.fields["reference"].disabled and form.fields["kind"].disabled
    # The service refuses too, whatever the caller.
    with pytest.raises(ValidationError) as excinfo:
        collection_services.collection_update(collection=collection, reference="C23052")
    assert "reference" in excinfo.value.message_dict


def test_collection_service_checks_deadlines():
    now = timezone.now()
    with pytest.raises(ValidationError) as excinfo:
        collection_services.collection_create(
            reference="C24051",
            name="x",
            kind=CollectionKind.STUDENT_RECORD,
            reporting_year=2024,
            opens=now,
            approval_deadline=now - timedelta(days=1),
        )
    assert "approval_deadline" in excinfo.value.message_dict
    assert not Collection.objects.exists()


def test_collection_service_contact_period_order():
    now = timezone.now()
    with pytest.raises(ValidationError) as excinfo:
        collection_services.collection_create(
            reference="C23071",
            name="GO",
            kind=CollectionKind.CONTACT_DETAILS,
            reporting_year=2023,
            cohort="A",
            opens=now,
            approval_deadline=now + timedelta(days=10),
            contact_period_start=date(2024, 3, 1),
            contact_period_end=date(2024, 2, 1),
        )
    assert "contact_period_end" in excinfo.value.message_dict
