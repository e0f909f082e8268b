"""A provider reads the HIN reports in a real browser and confirms a warning."""

import pytest
from playwright.sync_api import expect

from . import test_reports as reports

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
years, run, submission = reports.years, reports.run, reports.submission


def test_reports_page_with_findings_in_all_four_reports_confirms_a_warning(
    require_chromium, live_server, page, login, provider_user, submission
):
    login(page, provider_user)
    page.goto(f"{live_server.url}/submissions/{submission.pk}/")
    page.click("#hin-links >> text=HIN reports A–D")
    page.wait_for_selector("nav.tabs")
    tabs = {letter: page.locator(f"#tab-{letter} .count").inner_text() for letter in "ABCD"}
    assert tabs == {"A": "1", "B": "1", "C": "2", "D": "1"}

    # Report B: the renumbered record, side by side, with the concrete fix.
    page.click("#tab-B")
    finding = page.locator("tbody.finding").first
    assert "set NUMHUS to 1 (now 2)" in finding.inner_text()
    finding.locator("summary").click()  # one row per finding; the two records on demand
    expect(finding.locator("table.side-by-side")).to_be_visible()
    assert finding.locator("tr.differs th", has_text="NUMHUS").count() == 1
    assert page.locator("input[name=failure]").count() == 0  # errors are fixed, not confirmed

    # Report C: last year's live record that has no record now.
    page.click("#tab-C")
    assert reports.MISSING in page.locator("#report-C").inner_text()

    # Report A: confirm the gender change with a reason.
    page.click("#tab-A")
    row = page.locator("tbody.finding").first
    assert row.locator("tr.differs th", has_text="GENDER").count() == 1
    row.locator("input[name=failure]").check()
    page.click("text=Confirm selected")  # the reason is required: the browser refuses
    assert page.locator(".message.success").count() == 0
    page.fill("#reason", "Gender updated by the student at re-enrolment")
    page.click("text=Confirm selected")
    page.wait_for_selector(".message.success")
    assert "Confirmed 1 warning" in page.locator(".message.success").inner_text()
    confirmed = page.locator("tbody.finding.confirmed")
    confirmed.locator("summary").click()
    assert "Gender updated by the student at re-enrolment" in confirmed.inner_text()
    assert "(1 confirmed)" in page.locator("#tab-A").inner_text()

    # Report D is still open for confirmation: confirm every finding matching the filter at once.
    page.click("#tab-D")
    assert page.locator("input[name=failure]").count() == 1
    matching = page.locator("#confirm-matching")
    expect(matching.get_by_role("button")).to_have_text("Confirm all 1")
    page.fill("#matching-reason", "Left at the end of the year, as recorded")
    matching.get_by_role("button").click()
    expect(page.locator(".message.success")).to_contain_text("Confirmed all 1 matching warning")
    assert page.locator("input[name=failure]").count() == 0
    expect(page.locator("#confirm-matching")).to_have_count(0)
