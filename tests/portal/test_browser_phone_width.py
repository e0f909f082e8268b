"""The main screens at a phone's width (390 px) and a laptop's (1366 px), in a real browser (issue 12,
item 12): nothing wider than the screen, the navigation collapses behind a Menu button with "Sign
out" reachable, tables scroll inside their own box, long strings (SHA-256, HUSIDs) break. And on
each of them axe-core finds no serious or critical accessibility violation."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from collections_app.models import CollectionKind
from review import services

from .. import factories
from ..hin import test_guidance_examples as examples
from ..hin.test_reports import previous_year, this_year

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

years, run = examples.years, examples.run

PROVIDER_PAGES = (
    "/dashboard/",
    "/submissions/{pk}/",
    "/submissions/{pk}/failures/",
    "/submissions/{pk}/hin/?report=A",
    "/submissions/{pk}/hin-target-list/",
    "/collections/{ref}/",
    "/queries/",
    "/audit/",
    "/account/",
)
LIAISON_PAGES = ("/liaison/", "/liaison/grid/", "/liaison/providers/{ukprn}/", "/submissions/{pk}/", "/overrides/")


def _overflow(page) -> int:
    """How far the page is wider than the window (0: it fits)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def _culprits(page) -> list[str]:
    """The elements sticking out of the window (innermost first), to say what to fix."""
    return page.evaluate(
        """() => [...document.querySelectorAll("body *")]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1))
            .filter(e => { for (let a = e.parentElement; a; a = a.parentElement)
                             if (getComputedStyle(a).overflowX !== "visible") return false;
                           return true; })
            .slice(0, 3)
            .map(e => { const chain = []; for (let a = e; a && a !== document.body; a = a.parentElement)
                          chain.push(`${a.tagName.toLowerCase()}#${a.id}.${a.className}`
                                     + `[${Math.round(a.getBoundingClientRect().right)}]`);
                        return chain.join(" < "); })"""
    )


AXE = Axe()


def _serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page: rule, what it says, where."""
    results = AXE.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def world(run, provider, approver, liaison):
    submission = run(previous_year(), this_year())
    # A collection with a long name, as the grid's collection checkboxes show it.
    factories.CollectionFactory(
        reference="C23071", name="Graduate Outcomes contact details 2023/24 cohort A",
        kind=CollectionKind.CONTACT_DETAILS, reporting_year=2023, cohort="A",
    )  # fmt: skip
    services.query_raise(submission=submission, user=liaison, subject="A subject", body="Please check " + "x" * 200)
    return submission


@pytest.mark.parametrize("width", [390, 1366])
def test_screens_fit_the_window(require_chromium, live_server, browser, login, world, approver, liaison, width):
    submission = world
    values = {"pk": submission.pk, "ref": submission.collection.reference, "ukprn": submission.provider.ukprn}
    for user, paths in ((approver, PROVIDER_PAGES), (liaison, LIAISON_PAGES)):
        context = browser.new_context(viewport={"width": width, "height": 844})
        page = context.new_page()
        login(page, user)
        for path in paths:
            url = live_server.url + path.format(**values)
            response = page.goto(url)
            assert response.status == 200, url
            assert _overflow(page) <= 0, f"{url} is {_overflow(page)} px wider than {width} px: {_culprits(page)}"
            assert not (found := _serious_violations(page)), f"{url} at {width} px: {found}"
        context.close()


def test_navigation_collapses_on_a_phone(require_chromium, live_server, browser, login, world, approver):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    login(page, approver)
    page.goto(f"{live_server.url}/dashboard/")
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    sign_out = page.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(sign_out).to_be_visible()
    box = sign_out.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    # On a laptop the navigation is simply there.
    wide = browser.new_context(viewport={"width": 1366, "height": 800}).new_page()
    login(wide, approver)
    wide.goto(f"{live_server.url}/dashboard/")
    expect(wide.get_by_role("button", name="Menu")).to_be_hidden()
    expect(wide.get_by_role("button", name="Sign out")).to_be_visible()
    context.close()
