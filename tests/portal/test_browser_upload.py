"""A provider uploads a file in a real browser and watches it through to the failures table."""

import io

import pytest
from playwright.sync_api import expect

from student_record.sample_data import write_student_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def record_file(tmp_path, provider):
    out = io.StringIO()
    write_student_record(
        out, instances=150, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
        reporting_year=2023, seed=5, defect_rate=0.1,
    )  # fmt: skip
    path = tmp_path / "student-record.xml"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def test_upload_shows_progress_verdict_and_failures(
    require_chromium, live_server, page, login, provider_user, collection, record_file
):
    login(page, provider_user)
    page.goto(f"{live_server.url}/collections/{collection.reference}/")
    page.set_input_files("input[type=file]", str(record_file))
    page.click("#upload-button")

    page.wait_for_url("**/submissions/*/", timeout=30_000)
    page.wait_for_selector("#rules", timeout=30_000)
    assert page.locator("#pipeline-progress").get_attribute("value") == "100"
    assert page.locator("#status-badge").inner_text().strip() == "Failed"
    assert "instances" in page.locator(".stats").inner_text()
    # What to fix first (issue 12, item 1): the verdict, then failing errors, then approval; the
    # rules that passed folded into one closed line.
    tops = [page.locator(sel).bounding_box()["y"] for sel in ("#verdict", "#rules-error-table", "#approval")]
    assert tops == sorted(tops), tops
    passed = page.locator("#rules-passed")
    expect(passed.locator("summary")).to_contain_text("passed with no failures")
    expect(passed.locator("table")).to_be_hidden()

    # Drill down into one failing rule, then its CSV.
    page.locator("#rules a", has_text="View").first.click()
    page.wait_for_selector("#failures tbody tr")
    rows = page.locator("#failures tbody tr")
    assert rows.count() > 0
    assert "No failures match" not in rows.first.inner_text()
    with page.expect_download() as download:
        page.click("text=Download these (CSV)")
    assert download.value.suggested_filename.endswith(".csv")


def test_upload_of_a_non_xml_file_says_what_to_do(
    require_chromium, live_server, page, login, provider_user, collection, tmp_path
):
    login(page, provider_user)
    page.goto(f"{live_server.url}/collections/{collection.reference}/")
    bad = tmp_path / "data.csv"
    bad.write_text("HUSID,NUMHUS\n1,2\n")
    page.set_input_files("input[type=file]", str(bad))
    page.click("#upload-button")
    # Not wait_for_function: it evaluates a string, which the Content Security Policy forbids.
    expect(page.locator("#upload-status")).to_contain_text("not XML")
    assert "Upload the XML file" in page.locator("#upload-status").inner_text()
