"""Liaison sets a warning's tolerance in a real browser, from the collection page; the provider's
submission page then judges the warning against it."""

import pytest
from playwright.sync_api import expect

from ..review_helpers import add_warnings, make_submission, temporary_rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_liaison_sets_a_tolerance_and_the_provider_sees_it(
    require_chromium, live_server, page, browser, login, liaison, provider, provider_user, collection
):
    base = live_server.url
    with temporary_rule("BRW.TOL.01", percent=5):
        submission = make_submission(provider, collection, instances=300)
        add_warnings(submission, "BRW.TOL.01", 1)  # 0.33...% of 300: within the default 5%

        login(page, liaison)
        page.goto(f"{base}/collections/{collection.reference}/")
        page.get_by_role("link", name="Set warning tolerances").click()
        row = page.locator("#tolerance-BRW\\.TOL\\.01")
        expect(row.locator(".tolerance-text")).to_have_text("up to 5% of records")
        row.get_by_label("Allow up to").fill("0.33")
        row.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Tolerance of check BRW.TOL.01 saved.")).to_be_visible()
        expect(row.locator(".tolerance-text")).to_have_text("up to 0.33% of records")

        provider_page = browser.new_context().new_page()
        login(provider_page, provider_user)
        provider_page.goto(f"{base}/submissions/{submission.pk}/")
        warning = provider_page.locator("#tolerance-BRW\\.TOL\\.01")
        # Shown as 0.33%, yet over a 0.33% tolerance: the comparison is exact.
        expect(warning).to_contain_text("0.33% of 300")
        expect(warning).to_contain_text("up to 0.33% of records")
        expect(warning).to_contain_text("Over tolerance: blocks approval")

        row.get_by_label("Allow up to").fill("0")
        row.get_by_role("button", name="Save").click()
        expect(row.locator(".tolerance-text")).to_have_text("0% – any warning blocks approval")
        row.get_by_label("Allow up to").fill("1")
        row.get_by_label("Unit").select_option("count")
        row.get_by_role("button", name="Save").click()
        expect(row.locator(".tolerance-text")).to_have_text("up to 1 record")
        provider_page.reload()
        expect(warning).to_contain_text("Within tolerance")
