"""Brute-force protection (issue 15, defect 7): sign-in lockout with django-axes, and API
throttling of anonymous clients, token clients and failed tokens, at the configured limits."""

import datetime as dt
import secrets
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from .. import factories

LOGIN = "/login/"
API = "/api/v1/collections/"
CHEAP = "/api/v1/providers/0/"
LONDON = ZoneInfo("Europe/London")
# Winter: London time is UTC, so the page's "try again after" reads as these clocks.
T0 = dt.datetime(2024, 1, 15, 12, 0, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def real_limits(settings):
    """tests/conftest.py turns lockouts off for every other test; these run the real ones."""
    settings.AXES_ENABLED = True
    assert settings.AXES_FAILURE_LIMIT == 5
    assert dt.timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]


def sign_in(client, user, password=factories.PASSWORD, ip="10.0.0.1"):
    return client.post(LOGIN, {"username": user.username, "password": password}, REMOTE_ADDR=ip)


def fail(client, user, times, ip="10.0.0.1"):
    return [sign_in(client, user, "wrong password", ip=ip).status_code for _ in range(times)]


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def locked_out(response) -> bool:
    return response.status_code == 429 and "Signing in is paused" in response.content.decode()


# -- sign-in lockout ------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_and_the_page_says_when_to_try_again(client, provider_user):
    with time_machine.travel(T0, tick=False):
        assert fail(client, provider_user, 4) == [200, 200, 200, 200]
        fifth = sign_in(client, provider_user, "wrong password")
        assert locked_out(fifth)

        right = sign_in(client, provider_user)
        assert locked_out(right)
        assert not signed_in(client)
        page = right.content.decode()
        assert "5 failed sign-in attempts" in page
        assert "Try again after <strong>12:15</strong> (UK time, 15 Jan 2024), in about 15 minutes" in page


def test_signing_in_to_ones_own_account_does_not_clear_the_count(client, provider_user, approver):
    """Guessing pat's password from an address where one signs in to one's own account between
    guesses still reaches the limit (axes' reset-on-success would wipe the address's failures)."""
    assert fail(client, provider_user, 4) == [200] * 4
    assert sign_in(client, approver).status_code == 302
    client.logout()
    assert locked_out(sign_in(client, provider_user, "wrong password"))
    assert locked_out(sign_in(client, provider_user))


def test_lockout_is_per_account_and_per_address(client, provider_user, approver):
    """The default: the locked account is refused from any address, and the address that made
    the failures is refused for any account; another account from another address is not."""
    assert fail(client, provider_user, 5, ip="10.0.0.1")[-1] == 429

    assert locked_out(sign_in(client, provider_user, ip="10.0.0.2"))  # the account, elsewhere
    assert locked_out(sign_in(client, approver, ip="10.0.0.1"))  # the address, another account
    assert sign_in(client, approver, ip="10.0.0.2").status_code == 302
    assert signed_in(client)


def test_combination_lockout_when_configured(client, settings, provider_user, approver):
    """AXES_LOCKOUT_PARAMETERS=username+ip_address: only that account from that address."""
    settings.AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
    assert fail(client, provider_user, 5, ip="10.0.0.1")[-1] == 429
    assert locked_out(sign_in(client, provider_user, ip="10.0.0.1"))

    assert sign_in(client, approver, ip="10.0.0.1").status_code == 302
    client.logout()
    assert sign_in(client, provider_user, ip="10.0.0.2").status_code == 302


def test_cool_off_expiry_unlocks_and_attempts_during_the_lockout_do_not_extend_it(client, provider_user):
    with time_machine.travel(T0, tick=False) as clock:
        assert fail(client, provider_user, 5)[-1] == 429
        clock.shift(dt.timedelta(minutes=10))
        assert locked_out(sign_in(client, provider_user, "still guessing"))
        clock.shift(dt.timedelta(minutes=4, seconds=59))
        right = sign_in(client, provider_user)
        assert locked_out(right)
        assert "Try again after <strong>12:15</strong>" in right.content.decode()

        clock.shift(dt.timedelta(seconds=2))  # 12:15:01
        assert sign_in(client, provider_user).status_code == 302
        assert signed_in(client)


def test_the_address_behind_a_trusted_proxy_is_the_forwarded_one(client, settings, provider_user, approver):
    """With TRUSTED_PROXY_COUNT=1 two clients behind the same proxy are told apart by the
    X-Forwarded-For entry the proxy added; with the default 0 the header is ignored."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    settings.AXES_LOCKOUT_PARAMETERS = ["ip_address"]
    for _ in range(5):
        last = client.post(
            LOGIN,
            {"username": provider_user.username, "password": "wrong"},
            REMOTE_ADDR="192.0.2.1",
            HTTP_X_FORWARDED_FOR="spoofed, 10.0.0.1",
        )
    assert locked_out(last)
    other_client = client.post(
        LOGIN,
        {"username": approver.username, "password": factories.PASSWORD},
        REMOTE_ADDR="192.0.2.1",
        HTTP_X_FORWARDED_FOR="10.0.0.2",
    )
    assert other_client.status_code == 302
    client.logout()
    again = client.post(
        LOGIN,
        {"username": approver.username, "password": factories.PASSWORD},
        REMOTE_ADDR="192.0.2.1",
        HTTP_X_FORWARDED_FOR="anything, 10.0.0.1",
    )
    assert locked_out(again)


# -- API throttling -------------------------------------------------------------------------


def rate(scope: str) -> tuple[int, int]:
    """The configured rate for a scope, as (requests, seconds)."""
    return SimpleRateThrottle.parse_rate(None, django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope])


def test_a_flood_of_bad_tokens_is_throttled_per_address_even_for_a_right_token(provider_user, collection):
    allowed, window = rate("token_failure")
    assert (allowed, window) == (10, 60)
    good = Token.objects.create(user=provider_user).key
    client = APIClient()
    with time_machine.travel(T0, tick=False) as clock:
        statuses = [
            client.get(API, HTTP_AUTHORIZATION=f"Token {secrets.token_hex(20)}", REMOTE_ADDR="10.0.0.9").status_code
            for _ in range(allowed)
        ]
        assert statuses == [401] * allowed

        refused = client.get(API, HTTP_AUTHORIZATION=f"Token {secrets.token_hex(20)}", REMOTE_ADDR="10.0.0.9")
        assert refused.status_code == 429
        assert int(refused["Retry-After"]) == window
        assert "invalid token" in refused.json()["detail"]
        # Guessing stops: even the right token is refused from that address until the window passes...
        assert client.get(API, HTTP_AUTHORIZATION=f"Token {good}", REMOTE_ADDR="10.0.0.9").status_code == 429
        # ...a spoofed X-Forwarded-For does not make a new address (no trusted proxy by default)...
        spoofed = client.get(
            API, HTTP_AUTHORIZATION=f"Token {good}", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="10.9.9.9"
        )
        assert spoofed.status_code == 429
        # ...while other addresses are unaffected.
        assert client.get(API, HTTP_AUTHORIZATION=f"Token {good}", REMOTE_ADDR="10.0.0.8").status_code == 200

        clock.shift(dt.timedelta(seconds=window + 1))
        assert client.get(API, HTTP_AUTHORIZATION=f"Token {good}", REMOTE_ADDR="10.0.0.9").status_code == 200


def test_anonymous_api_requests_are_throttled_before_the_401(collection):
    allowed, window = rate("anon")
    assert (allowed, window) == (60, 60)
    client = APIClient()
    with time_machine.travel(T0, tick=False) as clock:
        statuses = [client.get(API, REMOTE_ADDR="10.0.0.7").status_code for _ in range(allowed)]
        assert statuses == [401] * allowed
        throttled = client.get(API, REMOTE_ADDR="10.0.0.7")
        assert throttled.status_code == 429
        assert int(throttled["Retry-After"]) == window
        assert client.get("/api/schema/", REMOTE_ADDR="10.0.0.7").status_code == 429  # public routes too
        assert client.get(API, REMOTE_ADDR="10.0.0.6").status_code == 401

        clock.shift(dt.timedelta(seconds=window + 1))
        assert client.get(API, REMOTE_ADDR="10.0.0.7").status_code == 401


def test_token_clients_are_throttled_per_user(provider_user, collection):
    allowed, window = rate("user")
    assert (allowed, window) == (600, 60)
    token = Token.objects.create(user=provider_user).key
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    with time_machine.travel(T0, tick=False):
        # A cheap route (a 404 after authentication and throttling): 600 requests take a while.
        statuses = {client.get(CHEAP, REMOTE_ADDR=f"10.1.{i // 250}.{i % 250}").status_code for i in range(allowed)}
        assert statuses == {404}
        throttled = client.get(API, REMOTE_ADDR="10.2.0.1")  # per user, whatever the address
        assert throttled.status_code == 429
        assert int(throttled["Retry-After"]) == window
