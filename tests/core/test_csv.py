"""Spreadsheet formula injection: every CSV download neutralises cells a spreadsheet would run.

Names in an uploaded file, a provider renamed by liaison, a confirmation reason or a user's name
reach the CSVs. A cell starting with = + - @ (or tab / carriage return) is a formula to Excel and
LibreOffice (OWASP "CSV injection"); collections_app.exports.csv_response, which every export goes
through, prefixes such text with a single quote. Each export is tested through the real path: the
file is uploaded and processed, the provider renamed through the liaison service, and so on.
"""

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import provider_update
from collections_app.models import RuleFailure, SchemaError, Submission
from collections_app.services import submission_create, warning_confirm
from core.csv import CHUNK_ROWS, FORMULA_PREFIXES, _csv_stream, csv_cell, csv_response
from student_record.sample_data import make_husid

from ..factories import UserFactory
from ..hin import test_guidance_examples as examples
from ..xmlbuild import instance, student, student_record

years = examples.years

HYPERLINK = '=HYPERLINK("http://x","y")'
CMD = "+cmd|' /C calc'!A0"
SUM = "@SUM(1+1)"
MINUS = "-2+3"
HOSTILE = (HYPERLINK, CMD, SUM, MINUS)
API = "/api/v1"

# Two people at provider 0168. RENAMED's gender changes between the years (HIN report A, a
# confirmable warning); LEAVER gives RSNLEAVE without DATELEFT this year (rule SR.DATE.02).
RENAMED, LEAVER = make_husid(2022, "0168", 1), make_husid(2022, "0168", 2)


def _people(*, this_year: bool) -> list[dict]:
    return [
        student(
            instance(PTITLE=MINUS),
            HUSID=RENAMED,
            GENDER="F" if this_year else "M",
            FNAMES=HYPERLINK,
            SURNAME=CMD,
            OWNSTU=SUM,
        ),
        student(
            instance(NUMHUS="1", POSTCODE="BS1 4DJ", **({"RSNLEAVE": "01"} if this_year else {})),
            HUSID=LEAVER,
            FNAMES=SUM,
            SURNAME=MINUS,
            BIRTHDTE="2001-01-01",
        ),
    ]


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200, response
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def column(rows, name) -> list[str]:
    index = rows[0].index(name)
    return [row[index] for row in rows[1:]]


def assert_no_live_formula(rows) -> None:
    """No cell of the file, header included, starts with a formula character."""
    live = [cell for row in rows for cell in row if cell.startswith(FORMULA_PREFIXES)]
    assert not live, f"cells a spreadsheet would run: {live}"


def quoted(value: str) -> str:
    return "'" + value


@pytest.fixture
def processed(provider, provider_user, years, client, django_capture_on_commit_callbacks):
    """Last year's file approved, this year's uploaded through the upload form and processed."""
    examples.approve_previous(provider, provider_user, years, _people(this_year=False))
    client.force_login(provider_user)
    upload = SimpleUploadedFile(
        "this-year.xml", student_record(*_people(this_year=True), recid=examples.CURRENT_RECID), "application/xml"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("collection_upload", args=[years[1].reference]), {"file": upload})
    assert response.status_code == 302
    submission = Submission.objects.get(collection=years[1])
    assert submission.status == "failed", (submission.status, submission.error_message)
    client.logout()
    return submission


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


# -- the neutraliser ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [*HOSTILE, "\t=1+1", "\r=1+1", "=", "-", "+44 1242 714000", "@home"])
def test_text_starting_with_a_formula_character_gets_a_quote(value):
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Smith", "O'Brien", "'=already quoted", " =1+1", "a=b", "", "1-2", "2023-09-20"])
def test_other_text_is_unchanged(value):
    assert csv_cell(value) == value


@pytest.mark.parametrize("value", [-2, 0, 7, Decimal("-1.50"), -0.5])
def test_numbers_stay_numbers_even_when_negative(value):
    assert csv_cell(value) is value


def test_none_is_an_empty_cell():
    assert csv_cell(None) == ""


def test_the_stream_quotes_text_but_not_numbers():
    text = "".join(_csv_stream(["n", "=header"], [[-2, Decimal("-1.50"), "-2", None, HYPERLINK]]))
    header, row = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert header == ["n", "'=header"]
    assert row == ["-2", "-1.50", "'-2", "", "'" + HYPERLINK]


# -- failures and schema errors --------------------------------------------------------------


def _assert_failure_rows(rows):
    assert_no_live_formula(rows)
    leaver = [i for i, husid in enumerate(column(rows, "HUSID")) if husid == LEAVER]
    assert leaver, "the SR.DATE.02 failure is in the export"
    for i in leaver:
        assert column(rows, "FNAMES")[i] == quoted(SUM)
        assert column(rows, "SURNAME")[i] == quoted(MINUS)


def test_failures_csv_screen(client, provider_user, processed):
    assert RuleFailure.objects.filter(submission=processed, code="SR.DATE.02", husid=LEAVER).exists()
    client.force_login(provider_user)
    _assert_failure_rows(rows_of(client.get(reverse("submission_failures_csv", args=[processed.pk]))))


def test_failures_csv_api(provider_user, processed):
    response = api_client(provider_user).get(f"{API}/submissions/{processed.pk}/failures.csv")
    _assert_failure_rows(rows_of(response))


@pytest.fixture
def rejected(provider, provider_user, collection, django_capture_on_commit_callbacks):
    """A file the schema rejects, its bad values hostile: they appear inside the error messages."""
    bad = student(instance(COMDATE=SUM), BIRTHDTE=HYPERLINK, GENDER=CMD, ETHNIC=MINUS)
    upload = SimpleUploadedFile("bad.xml", student_record(bad), content_type="application/xml")
    with django_capture_on_commit_callbacks(execute=True):
        submission = submission_create(
            collection=collection, provider=provider, user=provider_user, uploaded_file=upload
        )
    submission.refresh_from_db()
    assert submission.status == "rejected"
    return submission


@pytest.mark.parametrize("where", ["screen", "api"])
def test_schema_errors_csv(where, client, provider_user, rejected):
    # libxml2's messages quote the value ("'=HYPERLINK(...)' is not a valid value..."), so the file's
    # own values never lead a cell today; a message that did start with one (a stored row, as a
    # future message format could produce) is neutralised like any other cell.
    SchemaError.objects.create(submission=rejected, line=99, path="/StudentRecord", message=HYPERLINK)
    if where == "screen":
        client.force_login(provider_user)
        response = client.get(reverse("submission_schema_errors_csv", args=[rejected.pk]))
    else:
        response = api_client(provider_user).get(f"{API}/submissions/{rejected.pk}/schema-errors.csv")
    rows = rows_of(response)
    assert_no_live_formula(rows)
    messages = column(rows, "message")
    for value in HOSTILE:
        assert any(value in message for message in messages), value
    assert quoted(HYPERLINK) in messages


# -- HIN report and Target List --------------------------------------------------------------


def _assert_hin_rows(rows, reason):
    assert_no_live_formula(rows)
    (i,) = [i for i, husid in enumerate(column(rows, "this year HUSID")) if husid == RENAMED]
    for side in ("this year", "last year"):
        assert column(rows, f"{side} FNAMES")[i] == quoted(HYPERLINK)
        assert column(rows, f"{side} SURNAME")[i] == quoted(CMD)
        assert column(rows, f"{side} PTITLE")[i] == quoted(MINUS)
    assert column(rows, "confirmation reason")[i] == quoted(reason)


@pytest.mark.parametrize("where", ["screen", "api"])
def test_hin_report_csv(where, client, provider_user, processed):
    finding = RuleFailure.objects.get(submission=processed, code="HIN5b", husid=RENAMED)
    reason = "+Gender corrected at re-enrolment"  # the provider's own words reach the CSV too
    warning_confirm(submission=processed, failure_ids=[finding.pk], reason=reason, user=provider_user)
    if where == "screen":
        client.force_login(provider_user)
        response = client.get(reverse("hin_report_csv", args=[processed.pk]))
    else:
        response = api_client(provider_user).get(f"{API}/submissions/{processed.pk}/hin-report.csv")
    _assert_hin_rows(rows_of(response), reason)


@pytest.mark.parametrize("where", ["screen", "api"])
def test_hin_target_list_csv(where, client, provider_user, processed):
    if where == "screen":
        client.force_login(provider_user)
        response = client.get(reverse("hin_target_list_csv", args=[processed.pk]))
    else:
        response = api_client(provider_user).get(f"{API}/submissions/{processed.pk}/hin-target-list.csv")
    rows = rows_of(response)
    assert_no_live_formula(rows)
    by_husid = {row[rows[0].index("HUSID")]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_husid[RENAMED]["FNAMES"] == quoted(HYPERLINK)
    assert by_husid[RENAMED]["SURNAME"] == quoted(CMD)
    assert by_husid[RENAMED]["OWNSTU"] == quoted(SUM)
    assert by_husid[RENAMED]["PTITLE"] == quoted(MINUS)
    assert by_husid[LEAVER]["FNAMES"] == quoted(SUM) and by_husid[LEAVER]["SURNAME"] == quoted(MINUS)


# -- audit log and liaison grid ----------------------------------------------------------------


def _rename(provider, name):
    provider_update(
        provider=provider,
        name=name,
        ukprn=provider.ukprn,
        instid=provider.instid,
        email_domains=provider.email_domains,
        switchboard_numbers=provider.switchboard_numbers,
    )


def test_audit_log_csv(client, provider, collection, liaison, django_capture_on_commit_callbacks):
    uploader = UserFactory(provider=provider, username="hostile", first_name=SUM, last_name="Jones")
    upload = SimpleUploadedFile(f"{MINUS}.xml", student_record(student()), content_type="application/xml")
    with django_capture_on_commit_callbacks(execute=True):
        submission = submission_create(collection=collection, provider=provider, user=uploader, uploaded_file=upload)
    _rename(provider, HYPERLINK)
    client.force_login(liaison)
    rows = rows_of(client.get(reverse("audit_log_csv"), {"submission": submission.pk}))
    assert_no_live_formula(rows)
    (uploaded,) = [dict(zip(rows[0], row, strict=True)) for row in rows[1:] if row[2] == "submission.uploaded"]
    assert uploaded["actor"] == quoted(f"{SUM} Jones")
    assert uploaded["provider"] == quoted(HYPERLINK)
    assert uploaded["summary"].startswith(f"Uploaded {MINUS}.xml")  # the name inside the summary, not leading it


def test_liaison_grid_csv(client, provider, other_provider, collection, liaison):
    _rename(provider, CMD)
    _rename(other_provider, HYPERLINK)
    client.force_login(liaison)
    rows = rows_of(client.get(reverse("liaison_grid_csv")))
    assert_no_live_formula(rows)
    names = column(rows, "Provider")
    assert quoted(CMD) in names and quoted(HYPERLINK) in names


def test_a_long_download_is_sent_in_pieces_not_row_by_row():
    rows = ([i, f"name {i}"] for i in range(20_000))
    pieces = [p if isinstance(p, bytes) else p.encode() for p in csv_response("x.csv", ["n", "name"], rows)]
    text = b"".join(pieces).decode()
    assert text.count("\r\n") == 20_001 and text.endswith("19999,name 19999\r\n")
    # A piece of CHUNK_ROWS rows at a time: a hundredth of the writes a row at a time would make.
    assert 1 < len(pieces) <= 20_000 // CHUNK_ROWS + 1 <= 200


@pytest.mark.parametrize("hostile", [*HOSTILE, "\t=1+1", "\r=1+1", "a,=b", 'say "=x"'])
@pytest.mark.parametrize("position", [0, 1, 1999, 2000, 4321])
def test_a_formula_anywhere_in_a_long_download_is_neutralised(hostile, position):
    """The stream writes a piece of rows at once and only looks cell by cell at a piece where a cell
    may start with a formula character: the one such cell among thousands, in the first row, at a
    piece's edge or in the middle, comes out exactly as csv_cell makes it, and so do the others."""
    rows = [[i, f"name {i}", -i, None, "2023-09-20"] for i in range(5000)]
    rows[position][1] = hostile
    text = "".join(_csv_stream(["n", "name", "minus", "none", "date"], rows)).removeprefix("\ufeff")
    parsed = list(csv.reader(io.StringIO(text)))
    assert len(parsed) == 5001
    expected = [[str(csv_cell(v)) for v in row] for row in rows]
    assert parsed[1:] == expected
    if hostile.startswith(FORMULA_PREFIXES):
        assert parsed[1 + position][1] == "'" + hostile
    assert parsed[1 + position + 1][2] == str(-(position + 1))  # a negative number stays a number
