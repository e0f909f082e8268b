"""Liaison in a real browser: the grid's summary row and collection checkboxes, then a provider's page."""

import pytest
from playwright.sync_api import expect

from collections_app.models import SubmissionStatus

from ..review_helpers import make_submission

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_liaison_reads_the_grid_summary_and_opens_a_provider(
    require_chromium, live_server, page, login, liaison, provider, other_provider, collection
):
    make_submission(provider, collection)
    failed = make_submission(other_provider, collection, status=SubmissionStatus.FAILED)
    login(page, liaison)
    page.goto(f"{live_server.url}/liaison/grid/")
    summary = page.locator(f'[data-summary="{collection.reference}"]')
    expect(summary.get_by_role("link", name="Passed: 1")).to_be_visible()
    expect(summary.get_by_role("link", name="Failed: 1")).to_be_visible()
    expect(summary).to_contain_text("days to the approval deadline")
    expect(page.get_by_role("img", name=f"{collection.reference}: Failed 1, Passed 1")).to_be_visible()

    # Filter by clicking a state count: only the failed provider's row is left.
    summary.get_by_role("link", name="Failed: 1").click()
    expect(page.locator("#grid tbody tr")).to_have_count(1)
    expect(page.locator("#grid tbody")).to_contain_text(other_provider.name)

    # Collections are plain checkboxes, no Ctrl-click; the state link ticked this one.
    box = page.get_by_role("checkbox", name=collection.reference)
    expect(box).to_be_checked()
    box.uncheck()
    page.get_by_label("Rows with a cell that is").select_option("")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#grid tbody tr")).to_have_count(2)

    page.get_by_role("link", name=other_provider.name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(other_provider.name)
    expect(page.locator("#provider-submission-table")).to_contain_text(str(failed.pk))
    expect(page.locator("#provider-collection-table")).to_contain_text("Failed")
