"""Two-step sign-in in a real browser: a user sets up an authenticator app from the account page
(reading the key off the page, as an app would from the QR code), signs out, and signs in again
with the password and then a code."""

import base64
import re

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from ..portal.test_browser_phone_width import _serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def app_code(key: bytes, steps_ahead: int = 0) -> str:
    """What the authenticator app shows (steps_ahead: 30 seconds later, and so on)."""
    return f"{totp(key, t0=-30 * steps_ahead):06d}"


def test_user_sets_up_an_authenticator_app_and_signs_in_with_a_code(
    require_chromium, live_server, page, login, provider_user
):
    base = live_server.url
    login(page, provider_user)
    page.goto(f"{base}/account/")
    page.get_by_role("link", name="Set up two-step sign-in").click()
    expect(page.locator("#otp-qr")).to_be_visible()
    key = base64.b32decode(page.locator("#otp-secret").inner_text().replace(" ", ""))
    assert _serious_violations(page) == []

    page.get_by_label("Code from your authenticator app").fill("000000" if app_code(key) != "000000" else "111111")
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.locator(".error-summary")).to_contain_text("That code is not right")
    page.wait_for_timeout(1100)  # wrong codes are throttled: 1 second after the first
    page.get_by_label("Code from your authenticator app").fill(app_code(key))
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_text("Your authenticator app is set up")).to_be_visible()
    expect(page.locator("#otp")).to_contain_text("On: signing in asks for a code")

    page.get_by_role("button", name="Sign out").click()
    login(page, provider_user)
    expect(page).to_have_url(re.compile(r"/login/code/"))
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    assert _serious_violations(page) == []
    page.goto(f"{base}/dashboard/")  # no page before the code
    expect(page).to_have_url(re.compile(r"/login/code/\?next=/dashboard/"))

    # The code used at set-up is spent: the app's next one is accepted (within the tolerance).
    page.get_by_label("Code from your authenticator app").fill(app_code(key, steps_ahead=1))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{base}/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto(f"{base}/account/")
    expect(page.locator("#otp")).to_contain_text("On: signing in asks for a code")
