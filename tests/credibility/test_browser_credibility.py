"""In a real browser: the provider reads a flagged credibility figure, opens its records, and
explains it; liaison then reads the explanation."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_provider_reads_a_flagged_cell_and_explains_it(
    require_chromium, live_server, page, browser, login, provider_user, liaison, two_years
):
    base = live_server.url
    current = two_years[1]
    login(page, provider_user)
    page.goto(f"{base}/submissions/{current.pk}/")
    expect(page.locator("#credibility-flags")).to_have_text("8 flagged figures")
    page.get_by_role("link", name="Credibility report").click()

    dormant = page.locator("#cell-mode-DORMANT")
    expect(dormant).to_have_class("flagged")
    expect(dormant.locator("td").nth(0)).to_have_text("25")
    expect(dormant.locator("td").nth(1)).to_have_text("0")
    expect(dormant.locator("td.flag")).to_have_text("Flagged")
    expect(page.locator("#cell-mode-FT")).not_to_have_class("flagged")  # exactly 10%
    expect(page.locator("#table-mode svg.credibility-chart")).to_be_visible()

    dormant.get_by_role("link", name="25").click()
    expect(page.locator("h1")).to_contain_text("Dormant")
    expect(page.locator("#cell-records tbody tr")).to_have_count(25)
    page.go_back()

    page.get_by_label("Explain this figure").first.wait_for()
    form = page.get_by_role("form", name="Explain instances by mode of study, Dormant (MODE 63, 64)")
    form.get_by_label("Explain this figure").fill("A cohort suspended their studies in the autumn.")
    form.get_by_role("button", name="Save the explanation").click()
    expect(page.get_by_text("Explanation saved")).to_be_visible()
    expect(page.locator("#explanation-mode-DORMANT")).to_contain_text("A cohort suspended their studies")

    liaison_page = browser.new_context().new_page()
    login(liaison_page, liaison)
    liaison_page.goto(f"{base}/submissions/{current.pk}/credibility/")
    expect(liaison_page.locator("#explanation-mode-DORMANT")).to_contain_text("A cohort suspended their studies")
    expect(liaison_page.locator("#flag-summary")).to_have_text("8 flagged figures, 1 explained.")

    # Liaison raises a query from the figure.
    row = liaison_page.locator("#cell-mode-DORMANT + tr")
    row.get_by_text("Raise a query about this figure").click()
    row.get_by_label("The query").fill("Please send the list of suspended students.")
    row.get_by_role("button", name="Raise the query").click()
    expect(liaison_page.get_by_text("Query raised with")).to_be_visible()
    expect(liaison_page.locator("h1")).to_contain_text("Credibility: Instances by mode of study, Dormant")
