"""The Content Security Policy in a real browser (issue 15, defect 8): the main pages load with
no violation reported and their scripts still work; Secure cookies work on http://localhost."""

import io

import pytest
from django.db.models import F
from playwright.sync_api import expect

from collections_app.models import Submission
from student_record.sample_data import write_student_record

from .. import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Chromium reports violations on the console; the init script (injected by the browser, not
# by the page, so not itself subject to the policy) also logs every securitypolicyviolation event.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


@pytest.fixture
def watched(page):
    """The page, with everything it reports that would mean the policy or a script broke."""
    problems = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if "Content Security Policy" in msg.text or msg.text.startswith("CSP violation")
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.problems = problems
    return page


@pytest.fixture
def record_file(tmp_path, provider):
    out = io.StringIO()
    write_student_record(
        out, instances=60, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
        reporting_year=2023, seed=7, defect_rate=0.2,
    )  # fmt: skip
    path = tmp_path / "student-record.xml"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def test_main_pages_satisfy_the_policy_and_their_scripts_work(
    require_chromium, live_server, watched, login, provider_user, collection, record_file, settings
):
    page = watched
    # Sign in over http://localhost with Secure session and CSRF cookies (DEBUG is off here).
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    login(page, provider_user)
    assert page.url == f"{live_server.url}/dashboard/"
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["sessionid"]["secure"] and cookies["csrftoken"]["secure"]
    assert "script-src 'self'" in page.goto(f"{live_server.url}/dashboard/").headers["content-security-policy"]

    # Collection page: the size limit is checked in the browser before anything is sent...
    settings.MAX_UPLOAD_BYTES = 1000
    page.goto(f"{live_server.url}/collections/{collection.reference}/")
    page.set_input_files("input[type=file]", str(record_file))
    page.click("#upload-button")
    status = page.locator("#upload-status")
    expect(status).to_contain_text("the limit is")  # not wait_for_function: the CSP forbids its eval
    size = record_file.stat().st_size
    assert status.inner_text().startswith(f"The file is {size / 1024:.1f}\xa0KB; the limit is 1000\xa0bytes.")
    assert Submission.objects.count() == 0

    # ...and a file within it goes up through the script with its progress bar.
    settings.MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    page.reload()
    page.set_input_files("input[type=file]", str(record_file))
    page.click("#upload-button")
    page.wait_for_url("**/submissions/*/", timeout=30_000)
    page.wait_for_selector("#rules")
    bars = page.locator(".chart svg.bar rect")
    assert bars.count() > 0 and bars.first.bounding_box()["width"] > 0  # the chart, without style=

    # HIN report page (its own stylesheet).
    submission = Submission.objects.get()
    page.goto(f"{live_server.url}/submissions/{submission.pk}/hin/")
    page.wait_for_selector("h1")

    # Account page: the token copy button is the script's work.
    page.goto(f"{live_server.url}/account/")
    page.click("text=Create token")
    page.wait_for_selector("#new-token")
    assert page.locator("#copy-token").is_visible()

    # Swagger UI: sidecar assets, its start-up script as a file, the schema fetched.
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "Returns portal API" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() > 10

    assert page.problems == []


def test_submission_page_polls_progress_under_the_policy(
    require_chromium, live_server, watched, login, provider_user, collection
):
    page = watched
    submission = factories.SubmissionFactory(
        provider=provider_user.provider,
        collection=collection,
        uploaded_by=provider_user,
        status="processing",
        stage="rules",
        progress=40,
    )
    login(page, provider_user)
    page.goto(f"{live_server.url}/submissions/{submission.pk}/")
    assert page.locator("#pipeline").get_attribute("data-in-flight") == "1"

    Submission.objects.filter(pk=submission.pk).update(progress=F("progress") + 30, stage_message="row 700 of 1,000")
    expect(page.locator("#pipeline-stage")).to_contain_text("70%")
    assert page.locator("#pipeline-stage").inner_text() == "Quality rules · 70% · row 700 of 1,000"
    assert page.eval_on_selector("#pipeline-progress", "el => el.value") == 70

    # Done: the script reloads the page, which shows the result.
    Submission.objects.filter(pk=submission.pk).update(status="passed", stage="done", progress=100)
    page.wait_for_selector("#pipeline[data-in-flight='0']", timeout=10_000)
    assert page.locator("#status-badge").inner_text().strip() == "Passed"

    assert page.problems == []
