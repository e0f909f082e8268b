"""Who reaches which foundation screen, what the dashboard shows, and API token management."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import Role, User
from collections_app.models import SubmissionStatus
from core.formatting import uk_datetime_text

from .. import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Every screen built here, as (url name, args). `collection` and `provider` args filled in per test.
LIAISON_SCREENS = [
    ("liaison_home", ()),
    ("provider_create", ()),
    ("provider_edit", ("provider",)),
    ("user_list", ()),
    ("user_create", ()),
    ("user_edit", ("provider_user",)),
    ("collection_create", ()),
    ("collection_edit", ("collection",)),
]
SHARED_SCREENS = [("account", ())]


@pytest.fixture
def objects(provider, provider_user, collection):
    return {"provider": provider.pk, "provider_user": provider_user.pk, "collection": collection.reference}


def _url(name, args, objects):
    return reverse(name, args=[objects[a] for a in args])


@pytest.fixture
def as_user(client, provider_user, approver, liaison):
    users = {"provider_user": provider_user, "approver": approver, "liaison": liaison}

    def login(role):
        client.force_login(users[role])
        return client

    return login


# --- Anonymous ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name,args", LIAISON_SCREENS + SHARED_SCREENS + [("dashboard", ())])
def test_anonymous_is_sent_to_login(client, objects, name, args):
    url = _url(name, args, objects)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_anonymous_home_goes_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")


@pytest.mark.parametrize("name", ["token_create", "token_revoke"])
def test_anonymous_cannot_post_token_actions(client, name):
    response = client.post(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not Token.objects.exists()


def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


# --- Sign in and out ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role,target",
    [("provider_user", "dashboard"), ("approver", "dashboard"), ("liaison", "liaison_home")],
)
def test_login_then_home_redirects_by_role(client, provider_user, approver, liaison, role, target):
    username = {"provider_user": provider_user, "approver": approver, "liaison": liaison}[role].username
    response = client.post(reverse("login"), {"username": username, "password": factories.PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse(target)


def test_login_with_wrong_password_shows_error(client, provider_user):
    response = client.post(reverse("login"), {"username": provider_user.username, "password": "wrong"})
    assert response.status_code == 200
    assert b"There is a problem" in response.content
    assert "_auth_user_id" not in client.session


def test_logout_is_post_only_and_signs_out(client, provider_user):
    client.force_login(provider_user)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


# --- Roles against screens ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["provider_user", "approver"])
@pytest.mark.parametrize("name,args", LIAISON_SCREENS)
def test_provider_staff_are_forbidden_liaison_screens(as_user, objects, role, name, args):
    client = as_user(role)
    assert client.get(_url(name, args, objects)).status_code == 403
    assert client.post(_url(name, args, objects), {}).status_code == 403


@pytest.mark.parametrize("name,args", LIAISON_SCREENS)
def test_liaison_reaches_liaison_screens(as_user, objects, name, args):
    response = as_user("liaison").get(_url(name, args, objects))
    assert response.status_code == 200


@pytest.mark.parametrize("role", ["provider_user", "approver", "liaison"])
def test_everyone_signed_in_reaches_account(as_user, role):
    response = as_user(role).get(reverse("account"))
    assert response.status_code == 200
    assert b"API token" in response.content


@pytest.mark.parametrize("role", ["provider_user", "approver"])
def test_provider_staff_get_dashboard(as_user, collection, role):
    response = as_user(role).get(reverse("dashboard"))
    assert response.status_code == 200
    assert b"University of Gloucestershire" in response.content
    assert collection.reference.encode() in response.content


def test_liaison_dashboard_redirects_to_liaison_home(as_user):
    response = as_user("liaison").get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"] == reverse("liaison_home")


def test_unknown_objects_are_404_for_liaison(as_user):
    client = as_user("liaison")
    assert client.get(reverse("provider_edit", args=[999999])).status_code == 404
    assert client.get(reverse("user_edit", args=[999999])).status_code == 404
    assert client.get(reverse("collection_edit", args=["C99999"])).status_code == 404


# --- Dashboard content --------------------------------------------------------------------------


def test_dashboard_shows_only_own_providers_submission(client, provider, provider_user, other_provider, collection):
    mine = factories.SubmissionFactory(
        provider=provider,
        collection=collection,
        uploaded_by=provider_user,
        original_name="mine.xml",
        status=SubmissionStatus.PASSED,
        error_count=0,
        warning_count=7,
    )
    # Newer than mine: if scoping were wrong it would be the one shown as "current".
    theirs = factories.SubmissionFactory(
        provider=other_provider,
        collection=collection,
        original_name="theirs-secret.xml",
        status=SubmissionStatus.FAILED,
        error_count=4242,
        uploaded_at=timezone.now() + timedelta(minutes=5),
    )
    client.force_login(provider_user)
    content = client.get(reverse("dashboard")).content.decode()
    assert "mine.xml" in content
    assert reverse("submission_detail", args=[mine.pk]) in content
    assert "theirs-secret.xml" not in content
    assert "4242" not in content
    assert reverse("submission_detail", args=[theirs.pk]) not in content
    assert theirs.uploaded_by.display_name not in content


def test_dashboard_shows_latest_submission_per_collection(client, provider, provider_user, collection):
    now = timezone.now()
    factories.SubmissionFactory(
        provider=provider, collection=collection, original_name="old.xml", uploaded_at=now - timedelta(days=2)
    )
    factories.SubmissionFactory(
        provider=provider, collection=collection, original_name="new.xml", uploaded_at=now - timedelta(hours=1)
    )
    client.force_login(provider_user)
    content = client.get(reverse("dashboard")).content.decode()
    assert "new.xml" in content
    assert "old.xml" not in content


def test_dashboard_sections_by_phase(client, provider_user):
    now = timezone.now()
    open_one = factories.CollectionFactory(
        reference="C24051",
        name="Open one",
        opens=now - timedelta(days=1),
        approval_deadline=now + timedelta(days=3, hours=1),
    )
    factories.CollectionFactory(
        reference="C22051",
        name="Closed one",
        reporting_year=2022,
        opens=now - timedelta(days=400),
        approval_deadline=now - timedelta(days=300),
    )
    client.force_login(provider_user)
    response = client.get(reverse("dashboard"))
    data = response.context["dashboard"]
    assert [c.collection.reference for c in data.current] == ["C24051"]
    assert [c.collection.reference for c in data.closed] == ["C22051"]
    content = response.content.decode().replace("\xa0", " ")  # timeuntil joins with no-break spaces
    assert "approval deadline in 3 days" in content
    assert f"After {uk_datetime_text(open_one.approval_deadline)} uploads close; approved data stands." in content
    assert reverse("collection_detail", args=["C24051"]) in content


def test_dashboard_query_count_does_not_grow_with_collections(
    client, provider, provider_user, django_assert_max_num_queries
):
    now = timezone.now()
    for n in range(6):
        collection = factories.CollectionFactory(
            reference=f"C2{n}051",
            reporting_year=2020 + n,
            opens=now - timedelta(days=1),
            approval_deadline=now + timedelta(days=n + 1),
        )
        factories.SubmissionFactory(provider=provider, collection=collection, uploaded_by=provider_user)
    client.force_login(provider_user)
    # session, user, provider, the second-factor check (any authenticator app?), then one query for
    # collections and one for their submissions, five for the approval states
    # (review.selectors.collection_states) and one for open queries.
    with django_assert_max_num_queries(12):
        response = client.get(reverse("dashboard"))
    assert len(response.context["dashboard"].current) == 6


# --- Liaison home -------------------------------------------------------------------------------


def test_liaison_home_filters_and_sorts(as_user, provider, other_provider, collection):
    client = as_user("liaison")
    response = client.get(reverse("liaison_home"), {"q": "Glouc"})
    names = [row.provider.name for row in response.context["providers"]]
    assert names == ["University of Gloucestershire"]

    response = client.get(reverse("liaison_home"), {"sort": "-providers.ukprn"})
    ukprns = [row.provider.ukprn for row in response.context["providers"]]
    assert ukprns == sorted(ukprns, reverse=True) and len(ukprns) == 2
    assert 'aria-sort="descending"' in response.content.decode()

    # Anything not whitelisted falls back to the default order rather than erroring.
    response = client.get(reverse("liaison_home"), {"sort": "providers.password"})
    assert response.status_code == 200
    assert [row.provider.name for row in response.context["providers"]] == [
        "Other University",
        "University of Gloucestershire",
    ]


def test_liaison_home_counts_current_submission_states(as_user, provider, collection):
    now = timezone.now()
    factories.SubmissionFactory(
        provider=provider, collection=collection, status=SubmissionStatus.FAILED, uploaded_at=now - timedelta(days=1)
    )
    factories.SubmissionFactory(
        provider=provider, collection=collection, status=SubmissionStatus.PASSED, uploaded_at=now
    )
    response = as_user("liaison").get(reverse("liaison_home"))
    row = next(r for r in response.context["providers"] if r.provider == provider)
    # Only the current (latest) submission counts: one collection, passed.
    assert [(s.status, s.count) for s in row.latest_states] == [("passed", 1)]
    assert row.user_count == User.objects.filter(provider=provider).count()


# --- API tokens ---------------------------------------------------------------------------------


def test_token_create_shows_key_once_and_replaces(client, provider_user):
    client.force_login(provider_user)
    response = client.post(reverse("token_create"))
    assert response.status_code == 302
    first = Token.objects.get(user=provider_user)
    page = client.get(reverse("account")).content.decode()
    assert first.key in page
    assert "Copy your new token now" in page
    # Shown once only.
    assert first.key not in client.get(reverse("account")).content.decode()

    client.post(reverse("token_create"))
    second = Token.objects.get(user=provider_user)
    assert second.key != first.key
    assert not Token.objects.filter(key=first.key).exists()


def test_token_create_is_post_only(client, provider_user):
    client.force_login(provider_user)
    assert client.get(reverse("token_create")).status_code == 405
    assert not Token.objects.exists()


def test_token_revoke(client, provider_user, approver):
    Token.objects.create(user=provider_user)
    other = Token.objects.create(user=approver)
    client.force_login(provider_user)
    response = client.post(reverse("token_revoke"))
    assert response.status_code == 302
    assert not Token.objects.filter(user=provider_user).exists()
    assert Token.objects.filter(pk=other.pk).exists()  # only your own
    assert "You have no API token" in client.get(reverse("account")).content.decode()


def test_account_shows_token_created_time(client, provider_user):
    token = Token.objects.create(user=provider_user)
    client.force_login(provider_user)
    page = client.get(reverse("account")).content.decode()
    assert "You have an API token, created" in page
    assert token.key not in page  # an existing key is never shown again
    assert "Authorization: Token" in page


def test_moving_user_to_another_provider_revokes_token(as_user, provider_user, other_provider):
    Token.objects.create(user=provider_user)
    client = as_user("liaison")
    response = client.post(
        reverse("user_edit", args=[provider_user.pk]),
        {
            "username": provider_user.username,
            "first_name": "Pat",
            "last_name": "Moved",
            "email": "pat@example.com",
            "role": Role.PROVIDER_USER,
            "provider": other_provider.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    provider_user.refresh_from_db()
    assert provider_user.provider == other_provider
    assert not Token.objects.filter(user=provider_user).exists()
