"""What a person sees about the current submission, in a real browser (issue 12, items 2-4):
an old upload names the current one and offers nothing to press; the Approve button is disabled
with the blockers as its reason; the dashboard card tells the approved data from the latest upload."""

import pytest
from playwright.sync_api import expect

from collections_app.models import SubmissionStatus
from review import services

from ..review_helpers import add_warnings, make_submission, temporary_rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tst1():
    with temporary_rule("TST1", percent=5) as registered:
        yield registered


def test_an_old_submission_names_the_current_one_and_offers_no_action(
    require_chromium, live_server, page, login, provider, approver, collection, tst1
):
    old = make_submission(provider, collection, status=SubmissionStatus.SUPERSEDED)
    add_warnings(old, "TST1", 8)
    current = make_submission(provider, collection)
    login(page, approver)
    page.goto(f"{live_server.url}/submissions/{old.pk}/")
    banner = page.locator("#not-current")
    expect(banner).to_contain_text(f"Superseded by submission {current.pk}")
    expect(page.locator("#tolerance-TST1")).not_to_contain_text("blocks approval")
    expect(page.locator("#approve-button")).to_have_count(0)
    expect(page.get_by_role("button", name="Request an override for TST1")).to_have_count(0)
    banner.get_by_role("link", name=f"submission {current.pk}").click()
    page.wait_for_url(f"**/submissions/{current.pk}/")
    expect(page.locator("#not-current")).to_have_count(0)
    expect(page.locator("#approve-button")).to_be_visible()


def test_approve_is_disabled_with_the_blockers_as_its_reason(
    require_chromium, live_server, page, login, provider, approver, collection, tst1
):
    submission = make_submission(provider, collection)
    add_warnings(submission, "TST1", 8)
    login(page, approver)
    page.goto(f"{live_server.url}/submissions/{submission.pk}/")
    button = page.locator("#approve-button")
    expect(button).to_be_disabled()
    # Its accessible description is the list of blockers.
    described_by = button.get_attribute("aria-describedby")
    expect(page.locator(f"#{described_by}")).to_contain_text("Check TST1: 8 outstanding warnings")


def test_the_dashboard_tells_the_approved_data_from_the_latest_upload(
    require_chromium, live_server, page, login, provider, approver, collection
):
    approved = make_submission(provider, collection)
    services.submission_approve(submission=approved, user=approver)
    later = make_submission(provider, collection, status=SubmissionStatus.REJECTED, original_name="later.xml")
    login(page, approver)
    page.goto(f"{live_server.url}/dashboard/")
    card = page.locator(".collection-card", has_text=collection.reference)
    expect(card.locator(".approved-data")).to_contain_text(f"Approved data: submission {approved.pk}")
    expect(card.locator(".latest-upload")).to_contain_text(f"Latest upload: submission {later.pk}")
    expect(card.locator(".latest-upload")).to_contain_text("Rejected")
    expect(card).not_to_contain_text("Current submission")
