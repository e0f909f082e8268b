"""The whole review cycle in a real browser, two people at once: a provider approver and liaison.

Upload a failing file, fix it, upload again; it passes with a warning over a (temporary) rule's
tolerance; the provider asks for an override, liaison approves it, raises a query, the provider
responds, liaison accepts; the approver approves and liaison signs off. The liaison grid's cell
for the provider says where things stand at every step.
"""

import pytest

from collections_app.models import CollectionKind, Severity
from collections_app.rules.registry import Tolerance, rule, unregister

from ..xmlbuild import instance, student, student_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RULE = "BRW.PTITLE.01"


def _husid(first12: str) -> str:
    weights = [1, 3, 7, 9] * 3
    total = sum(int(d) * w for d, w in zip(first12, weights, strict=True))
    return first12 + str((10 - total % 10) % 10)


@pytest.fixture
def tolerant_rule():
    """A warning on programme titles marked for review, tolerated up to 10% of instances."""

    def sql(ctx):
        return (
            """
            SELECT i.id, i.student_id, i.line, i.husid, i.numhus, 'PTITLE', i.ptitle,
                   'Check the programme title ' || i.ptitle || '.'
            FROM sr_instance i WHERE i.submission_id = %(submission)s AND i.ptitle LIKE %(marked)s
            """,
            {"submission": ctx.submission_id, "marked": "%(review)%"},
        )

    sql.__doc__ = "Programme titles marked for review."
    rule(code=RULE, title="Programme title marked for review", severity=Severity.WARNING,
         record_kind=CollectionKind.STUDENT_RECORD, tolerance=Tolerance(percent=10))(sql)  # fmt: skip
    yield RULE
    unregister(RULE)


def _file(tmp_path, name, *, good: bool):
    first = _husid("981168123456") if good else "9811681234561"  # a wrong check digit: an error
    content = student_record(
        student(HUSID=first),
        student(instance(PTITLE="BA History (review)"), HUSID=_husid("981168123457"), SURNAME="Jones"),
    )
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_full_review_cycle(
    require_chromium,
    live_server,
    page,
    browser,
    login,
    approver,
    liaison,
    provider,
    collection,
    tolerant_rule,
    tmp_path,
):
    base = live_server.url
    desk = browser.new_context().new_page()  # liaison, alongside the provider's page
    login(desk, liaison)

    def cell_text() -> str:
        desk.goto(f"{base}/liaison/grid/")
        return desk.locator(f"#cell-{provider.ukprn}-{collection.reference} .badge").inner_text().strip()

    def upload(path):
        page.goto(f"{base}/collections/{collection.reference}/")
        page.set_input_files("input[type=file]", str(path))
        page.click("#upload-button")
        page.wait_for_url("**/submissions/*/", timeout=30_000)
        page.wait_for_selector("#approval", timeout=30_000)

    login(page, approver)
    assert cell_text() == "No submission"

    # 1. A failing file.
    upload(_file(tmp_path, "bad.xml", good=False))
    assert page.locator("#status-badge").inner_text().strip() == "Failed"
    assert cell_text() == "Failed"

    # 2. Fixed: it passes, with a warning over its tolerance that blocks approval.
    upload(_file(tmp_path, "good.xml", good=True))
    assert page.locator("#status-badge").inner_text().strip() == "Passed"
    submission_url = page.url
    assert cell_text() == "Passed"
    assert f"Check {RULE}" in page.locator("#approval-blockers").inner_text()

    # 3. The provider asks for an override; liaison approves it.
    row = page.locator(f'[id="tolerance-{RULE}"]')
    row.locator("textarea[name=justification]").fill("These titles are right: new programmes.")
    row.locator("button[type=submit]").click()
    assert "requested" in page.locator(".messages").inner_text()
    desk.goto(f"{base}/overrides/")
    desk.fill("textarea[name=message]", "Accepted for this year.")
    desk.click("button[value=approve]")
    assert "approved" in desk.locator(".messages").inner_text()
    assert cell_text() == "Passed"

    # 4. Liaison goes from the grid cell to the submission and raises a blocking query.
    desk.click(f"#cell-{provider.ukprn}-{collection.reference} a")
    desk.wait_for_selector("#raise-query")
    assert desk.url == submission_url
    desk.click("#raise-query summary")
    desk.fill("#query-subject", "Programme titles")
    desk.fill("#query-body", "Please confirm the titles marked for review.")
    desk.select_option("#query-rule", RULE)
    desk.check("#query-blocks")
    desk.click("#raise-query button[type=submit]")
    desk.wait_for_selector("#thread")
    query_url = desk.url

    # 5. The provider sees it on the dashboard, cannot approve yet, and responds.
    page.goto(f"{base}/dashboard/")
    assert "Waiting for you: 1" in page.locator("#dashboard-queries").inner_text()
    page.goto(submission_url)
    assert "Answer the query" in page.locator("#approval-blockers").inner_text()
    page.goto(query_url)
    page.fill("#respond-body", "Confirmed with the registry: the titles are right.")
    page.click("#respond-form button[type=submit]")
    assert "Response sent" in page.locator(".messages").inner_text()

    # 6. The approver approves.
    page.goto(submission_url)
    assert page.locator("#approval-blockers").count() == 0
    page.click("#approve-button")
    assert "is approved" in page.locator(".messages").inner_text()
    assert page.locator("#review-state").inner_text().strip() == "Approved"
    assert cell_text() == "Approved"

    # 7. Liaison accepts the answer and signs off.
    desk.goto(query_url)
    desk.click("#accept-form button[type=submit]")
    assert "closed" in desk.locator(".messages").inner_text()
    desk.goto(submission_url)
    desk.click("#sign-off-button")
    assert "signed off" in desk.locator(".messages").inner_text()
    assert cell_text() == "Signed off"
    page.goto(f"{base}/dashboard/")
    assert "Signed off" in page.locator(".approval-state").first.inner_text()
