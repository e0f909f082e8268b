"""The HIN report and HIN Target List in the REST API: rows, filters, confirmations, CSV, isolation."""

import csv
import io

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from collections_app.models import RuleFailure, SubmissionStatus, WarningConfirmation

from . import test_reports as reports

years, run, submission = reports.years, reports.run, reports.submission


@pytest.fixture
def api(provider_user):
    client = APIClient()
    client.force_authenticate(provider_user)
    return client


def report(api, submission, **params):
    response = api.get(f"/api/v1/submissions/{submission.pk}/hin-report/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_rows_carry_report_check_category_and_both_records(api, submission):
    body = report(api, submission)
    assert body["count"] == 5
    rows = {row["code"]: row for row in body["results"]}
    gender = rows["HIN5b"]
    assert (gender["report"], gender["check"], gender["category"], gender["severity"]) == ("A", "5b", None, "warning")
    assert gender["current"]["compared"] == {"GENDER": "F"} and gender["previous"]["compared"] == {"GENDER": "M"}
    assert gender["current"]["instid"] == "0168" and gender["current"]["husid"] == reports.GENDER_CHANGED
    six = rows["HIN6"]
    assert (six["report"], six["check"], six["category"]) == ("B", "6", 1)
    assert (six["current"]["numhus"], six["previous"]["numhus"]) == ("2", "1")
    assert set(six["current"]["compared"]) == {"BIRTHDTE", "POSTCODE", "QUALAIM", "COMDATE"}
    seven_h = rows["HIN7h"]
    assert seven_h["current"] is None and seven_h["previous"]["husid"] == reports.MISSING
    assert not seven_h["previous"]["closed_off"]


def test_filters_by_report_and_check(api, submission):
    assert {r["check"] for r in report(api, submission, report="C")["results"]} == {"7g", "7h"}
    assert [r["check"] for r in report(api, submission, check="7g")["results"]] == ["7g"]
    assert api.get(f"/api/v1/submissions/{submission.pk}/hin-report/", {"report": "E"}).status_code == 400


def test_filters_by_field_and_exact_change_as_confirm_matching_does(api, submission):
    """The list takes the same `field` and `value` as confirm-matching, so a client can see first
    what one reason would confirm."""
    (gender,) = report(api, submission, field="GENDER")["results"]
    assert gender["code"] == "HIN5b"
    value = RuleFailure.objects.get(submission=submission, code="HIN5b").value
    assert [r["code"] for r in report(api, submission, field="GENDER", value=value)["results"]] == ["HIN5b"]
    assert report(api, submission, field="GENDER", value=value + "x")["results"] == []
    url = f"/api/v1/submissions/{submission.pk}/hin-report/confirm-matching/"
    done = api.post(url, {"report": "A", "field": "GENDER", "value": value, "reason": "Corrected"}, format="json")
    assert done.status_code == 200 and done.json() == {"confirmed": 1}


def test_confirm_through_the_api(api, submission):
    failure = RuleFailure.objects.get(submission=submission, code="HIN8")
    url = f"/api/v1/submissions/{submission.pk}/hin-report/confirm/"
    refused = api.post(url, {"failures": [failure.pk], "reason": " "}, format="json")
    assert refused.status_code == 400
    error = RuleFailure.objects.get(submission=submission, code="HIN6")
    assert api.post(url, {"failures": [error.pk], "reason": "x"}, format="json").json()["code"] == "not_a_warning"
    ok = api.post(url, {"failures": [failure.pk], "reason": "A new programme"}, format="json")
    assert ok.status_code == 200 and ok.json() == {"confirmed": 1}
    (row,) = report(api, submission, confirmed="true")["results"]
    assert row["code"] == "HIN8" and row["confirmation"]["reason"] == "A new programme"
    assert {r["code"] for r in report(api, submission, confirmed="false")["results"]} == {
        "HIN5b", "HIN6", "HIN7g", "HIN7h"
    }  # fmt: skip


def test_liaison_reads_but_cannot_confirm(liaison, submission):
    client = APIClient()
    client.force_authenticate(liaison)
    assert report(client, submission)["count"] == 5
    failure = RuleFailure.objects.get(submission=submission, code="HIN8")
    response = client.post(
        f"/api/v1/submissions/{submission.pk}/hin-report/confirm/",
        {"failures": [failure.pk], "reason": "x"},
        format="json",
    )
    assert response.status_code == 403


def test_csv_variants(api, submission):
    response = api.get(f"/api/v1/submissions/{submission.pk}/hin-report.csv", {"report": "A"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [(r["check"], r["this year GENDER"], r["last year GENDER"]) for r in rows] == [("5b", "F", "M")]
    previous = submission.collection.previous.submissions.get(status=SubmissionStatus.APPROVED)
    listed = api.get(f"/api/v1/submissions/{previous.pk}/hin-target-list/").json()
    assert {r["husid"] for r in listed["results"]} == {reports.GENDER_CHANGED, reports.RENUMBERED, reports.MISSING}
    response = api.get(f"/api/v1/submissions/{previous.pk}/hin-target-list.csv")
    assert len(list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))) == 3


def test_another_provider_gets_404(other_user, submission):
    client = APIClient()
    client.force_authenticate(other_user)
    for path in ("hin-report/", "hin-report.csv", "hin-target-list/", "hin-target-list.csv"):
        assert client.get(f"/api/v1/submissions/{submission.pk}/{path}").status_code == 404
    response = client.post(
        f"/api/v1/submissions/{submission.pk}/hin-report/confirm/", {"failures": [1], "reason": "x"}, format="json"
    )
    assert response.status_code == 404


def test_approval_check_lists_refusals_and_warnings_against_tolerance(api, submission):
    body = api.get(f"/api/v1/submissions/{submission.pk}/approve/").json()
    assert body["can_approve"] is False
    assert [r["code"] for r in body["refusals"]][:1] == ["not_passed"]  # it failed (checks 6 and 7)
    warnings = {w["code"]: w for w in body["warnings"]}
    assert set(warnings) == {"HIN5b", "HIN8"}
    assert warnings["HIN5b"]["outstanding"] == 1 and warnings["HIN5b"]["blocks_approval"] is True
    failure = RuleFailure.objects.get(submission=submission, code="HIN5b")
    api.post(
        f"/api/v1/submissions/{submission.pk}/hin-report/confirm/",
        {"failures": [failure.pk], "reason": "Right"},
        format="json",
    )
    warnings = {w["code"]: w for w in api.get(f"/api/v1/submissions/{submission.pk}/approve/").json()["warnings"]}
    assert set(warnings) == {"HIN8"}  # a confirmed warning is no longer outstanding


# -- confirming: ids out of range, confirming twice, long reasons ------------------------------


def test_confirm_refuses_ids_no_database_could_hold_with_400_not_500(api, submission):
    """A failure id past 64 bits overflowed the query (500); the list's size is bounded too."""
    url = f"/api/v1/submissions/{submission.pk}/hin-report/confirm/"
    warning = RuleFailure.objects.get(submission=submission, code="HIN8")
    for ids in ([100000000000000000000], [2**63], [0], [-1], [warning.pk, 10**20]):
        response = api.post(url, {"failures": ids, "reason": "x"}, format="json")
        assert response.status_code == 400, (ids, response.content)
        assert "from 1 to 9223372036854775807" in str(response.json()["failures"])
    # The largest id is an id (nobody's warning here): refused as such.
    response = api.post(url, {"failures": [2**63 - 1], "reason": "x"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "not_a_warning"
    response = api.post(url, {"failures": list(range(1, 1002)), "reason": "x"}, format="json")
    assert response.status_code == 400 and "1000" in str(response.json()["failures"])
    assert not WarningConfirmation.objects.exists() and not AuditEvent.objects.filter(action="warning.confirmed")


def test_confirming_a_confirmed_warning_again_counts_nothing_and_logs_nothing(api, submission):
    url = f"/api/v1/submissions/{submission.pk}/hin-report/confirm/"
    hin8 = RuleFailure.objects.get(submission=submission, code="HIN8")
    hin5b = RuleFailure.objects.get(submission=submission, code="HIN5b")
    first = api.post(url, {"failures": [hin8.pk], "reason": "Moved house"}, format="json")
    assert first.status_code == 200 and first.json() == {"confirmed": 1}
    again = api.post(url, {"failures": [hin8.pk], "reason": "again"}, format="json")
    assert again.status_code == 200 and again.json() == {"confirmed": 0}
    # One new of two: only the new one is counted and logged.
    both = api.post(url, {"failures": [hin8.pk, hin5b.pk], "reason": "Passport seen"}, format="json")
    assert both.status_code == 200 and both.json() == {"confirmed": 1}
    events = AuditEvent.objects.filter(action="warning.confirmed").order_by("pk")
    assert [e.summary for e in events] == [
        f"Confirmed 1 warning on submission {submission.pk} as right: Moved house",
        f"Confirmed 1 warning on submission {submission.pk} as right: Passport seen",
    ]
    assert events[1].details["failure_ids"] == [hin5b.pk] and events[1].details["already_confirmed"] == 1
    reasons = dict(WarningConfirmation.objects.values_list("code", "reason"))
    assert reasons == {"HIN8": "Moved house", "HIN5b": "Passport seen"}


def test_a_confirmation_reason_is_at_most_2000_characters(api, submission):
    hin8 = RuleFailure.objects.get(submission=submission, code="HIN8")
    url = f"/api/v1/submissions/{submission.pk}/hin-report/confirm/"
    matching = f"/api/v1/submissions/{submission.pk}/hin-report/confirm-matching/"
    for path, body in ((url, {"failures": [hin8.pk]}), (matching, {"report": "D"})):
        refused = api.post(path, {**body, "reason": "x" * 100_000}, format="json")
        assert refused.status_code == 400 and refused.json()["code"] == "reason_too_long", refused.content
        assert "at most 2,000" in refused.json()["detail"]
        assert api.post(path, {**body, "reason": "x" * 2001}, format="json").json()["code"] == "reason_too_long"
    assert not WarningConfirmation.objects.exists() and not AuditEvent.objects.filter(action="warning.confirmed")
    ok = api.post(url, {"failures": [hin8.pk], "reason": " " + "x" * 2000 + " "}, format="json")
    assert ok.status_code == 200 and ok.json() == {"confirmed": 1}
