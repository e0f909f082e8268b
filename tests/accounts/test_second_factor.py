"""Two-step sign-in with an authenticator app (django-otp, TOTP): set-up from the account page,
the code step after the password, pages refused until it, REQUIRE_LIAISON_OTP, removal, liaison's
reset, and throttling of wrong codes."""

import datetime as dt

import pytest
import time_machine
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from audit.models import AuditEvent

from .. import factories
from ..portal.test_security_settings import production, run
from .otp_helpers import code_for, make_device, wrong_code

SETUP = "/account/two-step/set-up/"
REMOVE = "/account/two-step/remove/"
CODE = "/login/code/"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def sign_in(client, user, password=factories.PASSWORD):
    return client.post("/login/", {"username": user.username, "password": password})


# -- set-up -------------------------------------------------------------------------------------


def test_account_page_offers_set_up(client, provider_user):
    client.force_login(provider_user)
    page = client.get("/account/").content.decode()
    assert f'href="{SETUP}"' in page
    assert "Off: signing in asks for your password only" in page


def test_set_up_shows_qr_and_secret_and_needs_a_right_code(client, provider_user, clock):
    client.force_login(provider_user)
    page = client.get(SETUP)
    assert page.status_code == 200
    html = page.content.decode()
    device = TOTPDevice.objects.get(user=provider_user)
    assert not device.confirmed
    assert 'src="data:image/svg+xml' in html  # the QR code, drawn on the server
    assert "<script" not in html.split("</main>")[0].split("<main")[-1]
    secret = page.context["secret_groups"]
    assert " ".join(secret) in html
    assert "".join(secret) in device.config_url  # the otpauth:// URI in the QR code has the same key
    assert device.config_url.startswith("otpauth://totp/Returns%20portal%3Apat?")

    wrong = client.post(SETUP, {"code": wrong_code(device)})
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert not AuditEvent.objects.filter(action="otp.device_added").exists()

    clock.shift(2)  # past the throttle after one wrong code
    right = client.post(SETUP, {"code": code_for(device)})
    assert right.status_code == 302
    assert right["Location"] == "/account/"
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.get(action="otp.device_added").actor == provider_user
    # This session proved the code: it carries on.
    assert client.get("/dashboard/").status_code == 200
    assert "On: signing in asks for a code" in client.get("/account/").content.decode()


def test_set_up_refuses_a_bad_code_format(client, provider_user):
    client.force_login(provider_user)
    client.get(SETUP)
    response = client.post(SETUP, {"code": "abc"})
    assert "Enter the 6 digits" in response.content.decode()


# -- signing in ---------------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_and_pages_wait_for_it(client, provider_user, clock):
    device = make_device(provider_user)
    token = Token.objects.create(user=provider_user)
    response = sign_in(client, provider_user)
    assert response.status_code == 302
    assert "_auth_user_id" in client.session  # the password step is done ...

    for path in ("/dashboard/", "/account/", "/account/password/", "/audit/", "/liaison/"):
        refused = client.get(path)
        assert refused.status_code == 302, path
        assert refused["Location"].startswith(f"{CODE}?next="), path
    assert client.post("/account/token/")["Location"] == CODE
    assert not Token.objects.exclude(pk=token.pk).exists()
    # ... the API too, through the session; a token is a credential of its own.
    assert client.get("/api/v1/collections/").status_code in (401, 403)
    assert client.get("/api/v1/collections/", HTTP_AUTHORIZATION="Basic cGF0Og==").status_code in (401, 403)
    assert client.get("/api/v1/collections/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200

    page = client.get(f"{CODE}?next=/dashboard/")
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.content.decode()
    wrong = client.post(CODE, {"code": wrong_code(device), "next": "/dashboard/"})
    assert "That code is not right" in wrong.content.decode()
    assert client.get("/dashboard/").status_code == 302

    clock.shift(2)
    right = client.post(CODE, {"code": code_for(device), "next": "/dashboard/"})
    assert right["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/api/v1/collections/").status_code == 200


def test_code_page_ignores_a_foreign_next(client, provider_user):
    device = make_device(provider_user)
    sign_in(client, provider_user)
    right = client.post(CODE, {"code": code_for(device), "next": "https://evil.example/"})
    assert right["Location"] == "/"


def test_a_used_code_does_not_work_twice(client, provider_user, clock):
    device = make_device(provider_user)
    code = code_for(device)
    sign_in(client, provider_user)
    assert client.post(CODE, {"code": code})["Location"] == "/"
    other = type(client)()
    sign_in(other, provider_user)
    clock.shift(2)
    assert "That code is not right" in other.post(CODE, {"code": code}).content.decode()


def test_users_without_a_device_sign_in_with_the_password_alone(client, provider_user):
    sign_in(client, provider_user)
    assert client.get("/dashboard/").status_code == 200
    assert client.get(CODE)["Location"] == "/"


def test_a_new_sign_in_needs_the_code_again(client, provider_user):
    device = make_device(provider_user)
    sign_in(client, provider_user)
    client.post(CODE, {"code": code_for(device)})
    assert client.get("/dashboard/").status_code == 200
    client.post("/logout/")
    sign_in(client, provider_user)
    assert client.get("/dashboard/")["Location"].startswith(CODE)


# -- wrong codes are throttled ------------------------------------------------------------------


def test_wrong_codes_are_throttled(client, provider_user, clock):
    device = make_device(provider_user)
    sign_in(client, provider_user)
    client.post(CODE, {"code": wrong_code(device)})
    # Within a second of a wrong code even the right one is refused.
    refused = client.post(CODE, {"code": code_for(device)})
    assert "Too many wrong codes: wait 1 second" in refused.content.decode()
    assert client.get("/dashboard/").status_code == 302
    # Each wrong code doubles the wait: 1, 2, 4 seconds.
    clock.shift(1)
    client.post(CODE, {"code": wrong_code(device)})
    clock.shift(2)
    client.post(CODE, {"code": wrong_code(device)})
    device.refresh_from_db()
    assert device.throttling_failure_count == 3
    clock.shift(3)
    assert "Too many wrong codes: wait 1 second" in client.post(CODE, {"code": code_for(device)}).content.decode()
    clock.shift(1)
    assert client.post(CODE, {"code": code_for(device)})["Location"] == "/"
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


# -- REQUIRE_LIAISON_OTP ------------------------------------------------------------------------


def test_required_setting_sends_liaison_to_set_up(client, liaison, provider_user, settings, clock):
    settings.REQUIRE_LIAISON_OTP = True
    sign_in(client, liaison)
    for path in ("/liaison/", "/dashboard/", "/account/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"{SETUP}?next={path}"
    page = client.get(f"{SETUP}?next=/liaison/")
    assert "Liaison staff must use two-step sign-in" in page.content.decode()
    device = TOTPDevice.objects.get(user=liaison)
    done = client.post(SETUP, {"code": code_for(device), "next": "/liaison/"})
    assert done["Location"] == "/liaison/"
    assert client.get("/liaison/").status_code == 200

    # Provider staff are not required to.
    other = type(client)()
    sign_in(other, provider_user)
    assert other.get("/dashboard/").status_code == 200


def test_the_setting_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("REQUIRE_LIAISON_OTP", raising=False)
    snippet = "import django; django.setup(); from django.conf import settings as s; print(s.REQUIRE_LIAISON_OTP)"
    env = production(DJANGO_SETTINGS_MODULE="portal.settings")
    assert run("-c", snippet, **env).stdout.strip().splitlines()[-1] == "False"
    assert run("-c", snippet, **env, REQUIRE_LIAISON_OTP="1").stdout.strip().splitlines()[-1] == "True"


def test_without_the_setting_liaison_may_go_without(client, liaison, settings):
    settings.REQUIRE_LIAISON_OTP = False
    sign_in(client, liaison)
    assert client.get("/liaison/").status_code == 200


# -- removing a device --------------------------------------------------------------------------


def test_user_removes_their_device_with_a_current_code(client, provider_user, clock):
    device = make_device(provider_user)
    sign_in(client, provider_user)
    client.post(CODE, {"code": code_for(device)})
    clock.shift(30)
    wrong = client.post(REMOVE, {"code": wrong_code(device)})
    assert "That code is not right" in wrong.content.decode()
    assert TOTPDevice.objects.filter(user=provider_user).exists()
    clock.shift(2)
    removed = client.post(REMOVE, {"code": code_for(device)})
    assert removed["Location"] == "/account/"
    assert not TOTPDevice.objects.filter(user=provider_user).exists()
    assert AuditEvent.objects.get(action="otp.device_removed").actor == provider_user
    assert client.get("/dashboard/").status_code == 200


def test_liaison_resets_another_users_device(client, liaison, provider_user, approver):
    make_device(provider_user)
    client.force_login(liaison)
    page = client.get(f"/liaison/users/{provider_user.pk}/edit/").content.decode()
    assert "Remove authenticator app" in page
    response = client.post(f"/liaison/users/{provider_user.pk}/two-step/reset/")
    assert response["Location"] == f"/liaison/users/{provider_user.pk}/edit/"
    assert not TOTPDevice.objects.filter(user=provider_user).exists()
    event = AuditEvent.objects.get(action="otp.device_reset")
    assert event.actor == liaison
    assert event.provider == provider_user.provider
    # They sign in with the password alone now.
    other = type(client)()
    sign_in(other, provider_user)
    assert other.get("/dashboard/").status_code == 200

    # Nobody else may, and liaison not on their own account (that is the account page's job).
    make_device(approver)
    other.post(f"/liaison/users/{approver.pk}/two-step/reset/")
    assert other.post(f"/liaison/users/{approver.pk}/two-step/reset/").status_code == 403
    assert TOTPDevice.objects.filter(user=approver).exists()
    make_device(liaison)
    client.post(f"/liaison/users/{liaison.pk}/two-step/reset/")
    assert TOTPDevice.objects.filter(user=liaison).exists()
