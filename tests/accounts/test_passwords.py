"""Password change (signed in, from the account page) and password reset by email (from the sign-in
page), through Django's own views: audited, silent about unknown addresses, closed to the survey
platform's account, and no way around a sign-in lockout."""

import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import services as account_services
from accounts.models import Role
from audit.models import AuditEvent

from .. import factories

NEW = "a brand new passphrase 2026"


def sign_in(client, user, password, ip="10.0.0.1"):
    return client.post("/login/", {"username": user.username, "password": password}, REMOTE_ADDR=ip)


# -- change -------------------------------------------------------------------------------------


def test_account_page_links_to_password_change(client, provider_user):
    client.force_login(provider_user)
    assert 'href="/account/password/"' in client.get("/account/").content.decode()


def test_password_change_needs_the_old_password_then_works_and_is_audited(client, provider_user):
    client.force_login(provider_user)
    wrong = client.post("/account/password/", {"old_password": "not it", "new_password1": NEW, "new_password2": NEW})
    assert wrong.status_code == 200
    assert "Your old password was entered incorrectly" in wrong.content.decode()
    provider_user.refresh_from_db()
    assert provider_user.check_password(factories.PASSWORD)
    assert not AuditEvent.objects.filter(action="password.changed").exists()

    right = client.post(
        "/account/password/",
        {"old_password": factories.PASSWORD, "new_password1": NEW, "new_password2": NEW},
        follow=True,
    )
    assert right.redirect_chain[-1][0] == "/account/"
    assert "Your password was changed" in right.content.decode()
    provider_user.refresh_from_db()
    assert provider_user.check_password(NEW)
    event = AuditEvent.objects.get(action="password.changed")
    assert event.actor == provider_user
    assert event.provider == provider_user.provider
    # This session carries on; a fresh sign-in needs the new password.
    assert client.get("/account/").status_code == 200
    other = type(client)()
    assert "_auth_user_id" not in sign_in(other, provider_user, factories.PASSWORD).wsgi_request.session
    sign_in(other, provider_user, NEW)
    assert "_auth_user_id" in other.session


def test_password_change_needs_sign_in(client):
    response = client.get("/account/password/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# -- reset by email -----------------------------------------------------------------------------


def test_sign_in_page_offers_a_reset(client):
    assert 'href="/password-reset/"' in client.get("/login/").content.decode()


def reset_link(message) -> str:
    match = re.search(r"https?://[^/\s]+(/password-reset/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_reset_link_by_email_sets_a_new_password_once(client, provider_user):
    response = client.post("/password-reset/", {"email": provider_user.email})
    assert response.status_code == 302
    assert response["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [provider_user.email]
    assert provider_user.username in message.body
    link = reset_link(message)

    form_url = client.get(link)["Location"]  # Django moves the token into the session first
    page = client.get(form_url)
    assert page.status_code == 200
    assert "Set a new password" in page.content.decode()
    done = client.post(form_url, {"new_password1": NEW, "new_password2": NEW})
    assert done["Location"] == "/password-reset/done/"
    provider_user.refresh_from_db()
    assert provider_user.check_password(NEW)
    event = AuditEvent.objects.get(action="password.reset")
    assert event.actor == provider_user
    # Not signed in by the reset: the new password goes through the sign-in form.
    assert "_auth_user_id" not in client.session
    sign_in(client, provider_user, NEW)
    assert "_auth_user_id" in client.session

    # The link worked once.
    again = type(client)()
    followed = again.get(link, follow=True)
    assert "This link does not work" in followed.content.decode()
    assert AuditEvent.objects.filter(action="password.reset").count() == 1


def test_unknown_address_gets_the_same_answer_and_no_email(client, provider_user):
    known = client.post("/password-reset/", {"email": provider_user.email}, follow=True)
    unknown = client.post("/password-reset/", {"email": "nobody@nowhere.example"}, follow=True)
    assert known.redirect_chain == unknown.redirect_chain == [("/password-reset/sent/", 302)]
    assert known.content == unknown.content
    assert len(mail.outbox) == 1  # the known one only


def test_survey_platform_account_gets_no_reset(client, db):
    survey = account_services.user_create(username="platform", role=Role.SURVEY_PLATFORM, email="feed@survey.example")
    # Even with a usable password set behind the portal's back, no email goes out.
    survey.set_password("some password 123")
    survey.save()
    response = client.post("/password-reset/", {"email": survey.email})
    assert response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []
    # A link made for it (only the server could) does not work either.
    link = (
        f"/password-reset/{urlsafe_base64_encode(force_bytes(survey.pk))}/{default_token_generator.make_token(survey)}/"
    )
    page = client.get(link, follow=True)
    assert "This link does not work" in page.content.decode()
    assert "new_password1" not in page.content.decode()


def test_reset_does_not_lift_a_sign_in_lockout(client, provider_user, settings):
    settings.AXES_ENABLED = True
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, provider_user, "wrong password")
    client.post("/password-reset/", {"email": provider_user.email})
    link = reset_link(mail.outbox[0])
    form_url = client.get(link)["Location"]
    client.post(form_url, {"new_password1": NEW, "new_password2": NEW})
    provider_user.refresh_from_db()
    assert provider_user.check_password(NEW)
    # Locked out still, with the new password as with the old.
    response = sign_in(client, provider_user, NEW)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("path", ["/account/password/", "/password-reset/"])
def test_survey_platform_session_is_refused(client, db, path):
    survey = account_services.user_create(username="platform", role=Role.SURVEY_PLATFORM)
    client.force_login(survey)
    assert client.get(path).status_code == 403
