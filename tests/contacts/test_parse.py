"""A contact details file to go_graduate / go_detail rows: one streaming pass, details normalised,
the same detail twice for one graduate kept once and counted."""

import io

from collections_app.pipeline.load import _unescape
from contacts.parse import DETAIL_COLUMNS, GRADUATE_COLUMNS, parse_contact_details
from contacts.xmlwrite import GraduateDetails, write_contact_details


def contact_file(*graduates: GraduateDetails, recid="23071", ukprn="10007794") -> bytes:
    out = io.StringIO()
    write_contact_details(out, recid=recid, ukprn=ukprn, graduates=graduates)
    return out.getvalue().encode()


def parse(tmp_path, content: bytes, submission_id=7):
    path = tmp_path / "contacts.xml"
    path.write_bytes(content)
    graduates, details = io.StringIO(), io.StringIO()
    outcome = parse_contact_details(path, submission_id=submission_id, graduates_out=graduates, details_out=details)
    return outcome, _rows(graduates, GRADUATE_COLUMNS), _rows(details, DETAIL_COLUMNS)


def _rows(stream, columns):
    lines = stream.getvalue().splitlines()
    rows = [dict(zip(columns, [_unescape(v) for v in line.split("\t")], strict=True)) for line in lines]
    return rows


def test_a_file_becomes_graduate_and_detail_rows(tmp_path):
    content = contact_file(
        GraduateDetails("9811681234562", "1", details={"EMAIL": ["P.Smith@Example.com"], "UKMOB": ["07400 123456"]}),
        GraduateDetails("9811681234563", "2", gradstatus="01"),
    )
    outcome, graduates, details = parse(tmp_path, content)
    assert outcome.ok and outcome.records == 2
    assert outcome.header == {"RECID": "23071", "UKPRN": "10007794"}
    assert outcome.submission_fields == {
        "student_count": 2,
        "instance_count": 2,
        "file_recid": "23071",
        "file_ukprn": "10007794",
    }
    first, second = graduates
    assert first["id"] == "70000001" and first["submission_id"] == "7" and first["line"] == "6"
    assert (first["husid"], first["numhus"], first["gradstatus"], first["merged"]) == ("9811681234562", "1", "", "0")
    assert (second["husid"], second["gradstatus"]) == ("9811681234563", "01")
    email, mobile = details
    assert email["graduate_id"] == mobile["graduate_id"] == first["id"]
    assert (email["id"], mobile["id"]) == ("70000001", "70000002")
    assert email["line"] == "9" and email["husid"] == "9811681234562" and email["numhus"] == "1"
    assert (email["detail_type"], email["value"], email["normalised"], email["domain"]) == (
        "EMAIL",
        "P.Smith@Example.com",
        "p.smith@example.com",
        "example.com",
    )
    assert (mobile["detail_type"], mobile["value"], mobile["normalised"], mobile["number_type"], mobile["region"]) == (
        "UKMOB",
        "07400 123456",
        "+447400123456",
        "mobile",
        "GB",
    )
    assert mobile["problem"] == "" and mobile["dummy"] == "0" and email["role_mailbox"] == "0"


def test_the_same_email_in_two_cases_is_kept_once_and_counted(tmp_path):
    content = contact_file(
        GraduateDetails(
            "9811681234562", "1", details={"EMAIL": ["p.smith@example.com", "P.SMITH@example.COM", "x@example.com"]}
        ),
        GraduateDetails("9811681234563", "1", details={"EMAIL": ["p.smith@example.com"]}),
    )
    outcome, graduates, details = parse(tmp_path, content)
    assert outcome.ok
    assert [g["merged"] for g in graduates] == ["1", "0"]
    assert [(d["husid"][-1], d["value"]) for d in details] == [
        ("2", "p.smith@example.com"),
        ("2", "x@example.com"),
        ("3", "p.smith@example.com"),  # another graduate's: kept (GO.EMAIL.10's business)
    ]


def test_a_landline_and_a_mobile_are_both_kept_and_the_same_number_twice_once(tmp_path):
    content = contact_file(
        GraduateDetails(
            "9811681234562",
            "1",
            details={"UKMOB": ["07400 123456", "+44 7400 123456"], "UKTEL": ["01242 714000", "07400123456"]},
        )
    )
    outcome, graduates, details = parse(tmp_path, content)
    assert outcome.ok
    assert graduates[0]["merged"] == "2"  # the mobile again, as +44, and as a UKTEL
    assert [(d["detail_type"], d["normalised"], d["number_type"]) for d in details] == [
        ("UKMOB", "+447400123456", "mobile"),
        ("UKTEL", "+441242714000", "fixed_line"),
    ]


def test_problems_and_flags_are_filled(tmp_path):
    content = contact_file(
        GraduateDetails(
            "9811681234562",
            "1",
            details={
                "EMAIL": ["info@example.com", "not an address"],
                "UKMOB": ["07700 900123"],
                "UKTEL": ["07400 123456"],
                "INTTEL": ["+33 6 12 34 56 78"],
            },
        )
    )
    outcome, _graduates, details = parse(tmp_path, content)
    assert outcome.ok
    by_value = {d["value"]: d for d in details}
    assert by_value["info@example.com"]["role_mailbox"] == "1"
    assert by_value["not an address"]["problem"]
    assert by_value["07700 900123"]["dummy"] == "1"
    assert by_value["07400 123456"]["problem"].startswith("Not a valid UK landline number")
    assert by_value["+33 6 12 34 56 78"]["problem"] == "" and by_value["+33 6 12 34 56 78"]["region"] == "FR"


def test_values_with_tabs_and_backslashes_are_escaped_for_copy(tmp_path):
    content = contact_file(GraduateDetails("9811681234562", "a\\b", details={"EMAIL": ["a\tb@example.com"]}))
    outcome, graduates, details = parse(tmp_path, content)
    assert outcome.ok
    assert graduates[0]["numhus"] == "a\\b"
    assert details[0]["value"] == "a\tb@example.com" and details[0]["numhus"] == "a\\b"
    assert details[0]["problem"]  # a tab is no part of an address
