"""Graduate Outcomes contact details end to end in a real browser (issue 10): download the cohort's
population, upload details with failures, record a reason for a shared email, fix one graduate in
the web form, approve, and read the approved details in the survey feed."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from accounts import services as account_services
from collections_app.models import Submission, SubmissionStatus
from contacts.models import PopulationBuild
from contacts.xmlwrite import GraduateDetails, write_contact_details

from .. import factories
from .test_population import approved_record, contact_collection, graduate, husid

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Four graduates of cohort A (DATELEFT 1 Aug - 31 Oct 2023).
STUDENTS = [graduate(n, f"2023-09-{10 + n}") for n in (1, 2, 3, 4)]


def contact_file(tmp_path, provider, collection):
    graduates = [
        GraduateDetails(husid(1), "1", "", {"EMAIL": ["family@example.com"], "UKMOB": ["07911 123451"]}),
        GraduateDetails(husid(2), "1", "", {"EMAIL": ["Family@Example.com"], "UKMOB": ["07911 123452"]}),
        GraduateDetails(husid(3), "1", "", {"EMAIL": ["grad3@example.com"], "UKMOB": ["07911 12345"]}),  # too short
        GraduateDetails(
            husid(4), "1", "", {"EMAIL": ["grad4@example.com"], "UKTEL": ["01242 714000"], "UKMOB": ["07911 123454"]}
        ),  # fmt: skip
    ]
    out = io.StringIO()
    write_contact_details(out, recid=collection.recid, ukprn=provider.ukprn, graduates=graduates)
    path = tmp_path / "contacts.xml"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def test_population_upload_reason_web_form_approval_and_feed(
    require_chromium, live_server, browser, login, provider, provider_user, approver, tmp_path,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    base = live_server.url
    records = factories.CollectionFactory(reference="C23051", reporting_year=2023)
    cohort = contact_collection("A", reference="C23071")
    approved_record(provider, provider_user, approver, records, STUDENTS, django_capture_on_commit_callbacks)
    assert PopulationBuild.objects.get(collection=cohort, is_current=True).graduate_count == 4

    page = browser.new_context(accept_downloads=True).new_page()
    login(page, provider_user)

    # The population, on screen and as CSV.
    page.goto(f"{base}/collections/{cohort.reference}/population/")
    expect(page.locator("body")).to_contain_text(husid(4))
    with page.expect_download() as download:
        page.locator("#download-csv").click()
    rows = list(csv.DictReader(open(download.value.path(), encoding="utf-8-sig")))  # noqa: SIM115 (Excel BOM)
    assert sorted(r["HUSID"] for r in rows) == [husid(n) for n in (1, 2, 3, 4)]

    # Upload details with two problems: an email shared by two graduates, a mobile too short.
    page.goto(f"{base}/collections/{cohort.reference}/")
    page.set_input_files("input[type=file]", str(contact_file(tmp_path, provider, cohort)))
    page.click("#upload-button")
    page.wait_for_url("**/submissions/*/", timeout=30_000)
    expect(page.locator("#status-badge")).to_have_text("Failed", timeout=30_000)
    errors = page.locator("#rules-error-table")
    expect(errors).to_contain_text("GO.EMAIL.10")
    expect(errors).to_contain_text("GO.PHONE.01")

    # The shared email: the two graduates are twins who share a family address.
    page.get_by_role("link", name="Shared contact details and their reasons").click()
    expect(page.locator("body")).to_contain_text("family@example.com")
    page.locator("select[name=reason]").last.select_option("family_email")
    page.locator("input[name=note]").last.fill("Twins; they read the family inbox together")
    page.get_by_role("button", name="Record reason").click()
    expect(page.locator(".messages .message.success")).to_contain_text("Reason recorded for family@example.com")

    # Fix graduate 3's mobile in the web form: a new submission, checked by the same rules.
    page.goto(f"{base}/collections/{cohort.reference}/graduates/{husid(3)}/1/")
    page.locator("input[name=ukmob_1]").fill("07911 123453")
    page.get_by_role("button", name="Save and check").click()
    page.wait_for_url("**/submissions/*/", timeout=30_000)
    expect(page.locator("#status-badge")).to_have_text("Passed", timeout=30_000)
    fixed = Submission.objects.filter(collection=cohort).order_by("-pk").first()
    assert fixed.original_name.startswith("web-form-")

    # The approver approves it.
    approver_page = browser.new_context().new_page()
    login(approver_page, approver)
    approver_page.goto(f"{base}/submissions/{fixed.pk}/")
    approver_page.locator("#approve-button").click()
    expect(approver_page.locator("#status-badge")).to_have_text("Approved")
    assert Submission.objects.get(pk=fixed.pk).status == SubmissionStatus.APPROVED

    # The survey platform's next poll (the feed describes the state of a minute ago, so that no
    # approval still being saved is skipped) has the approved details, phones mobiles first.
    survey = factories.UserFactory(username="survey", role="survey_platform", provider=None)
    token = account_services.survey_token_issue(user=survey).key
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        response = page.request.get(
            f"{base}/api/v1/survey/{cohort.reference}/contacts/", headers={"Authorization": f"Token {token}"}
        )
    assert response.status == 200, response.text()
    feed = {g["husid"]: g for g in response.json()["results"]}
    assert sorted(feed) == [husid(n) for n in (1, 2, 3, 4)]
    assert feed[husid(1)]["emails"] == feed[husid(2)]["emails"] == ["family@example.com"]
    assert [p["element"] for p in feed[husid(4)]["phones"]] == ["UKMOB", "UKTEL"]
    assert "+447911123453" in [p["e164"] for p in feed[husid(3)]["phones"]]
