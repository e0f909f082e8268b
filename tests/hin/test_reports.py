"""The HIN reports screens, CSVs and confirmations: findings in all four reports, side by side."""

import csv
import io
import re

import pytest
from django.db import connection
from django.http import FileResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from collections_app.models import RuleFailure, SubmissionStatus, WarningConfirmation
from collections_app.selectors import warning_counts
from collections_app.services import warning_confirm
from core.errors import ActionRefused
from hin.models import HinLink, LinkKind
from hin.selectors import hin_findings, hin_findings_resolve, hin_report_counts
from student_record.sample_data import make_husid

from ..xmlbuild import instance, student, student_record
from . import test_guidance_examples as examples
from .test_guidance_examples import CURRENT_RECID, process

years, run = examples.years, examples.run

# Four people at provider 0168 (valid check digits).
GENDER_CHANGED, RENUMBERED, MISSING, RETURNER = (make_husid(2022, "0168", n) for n in (1, 2, 3, 4))


def previous_year():
    return [
        student(instance(), HUSID=GENDER_CHANGED, GENDER="M", SURNAME="Adams"),
        student(instance(NUMHUS="1", POSTCODE="BS1 4DJ"), HUSID=RENUMBERED, SURNAME="Baker", BIRTHDTE="2001-01-01"),
        student(instance(POSTCODE="GL1 1AA"), HUSID=MISSING, SURNAME="Clark", BIRTHDTE="2002-02-02"),
        student(
            instance(QUALAIM="32", PTITLE="Cert Maths", RSNLEAVE="01", DATELEFT="2023-06-30", QUAL1="32",
                     POSTCODE="CF10 1AA"),
            HUSID=RETURNER, SURNAME="Davies", BIRTHDTE="2003-03-03",
        ),
    ]  # fmt: skip


def this_year():
    return [
        # Report A, check 5b: same HIN, gender changed.
        student(instance(), HUSID=GENDER_CHANGED, GENDER="F", SURNAME="Adams"),
        # Reports B and C: NUMHUS changed on a continuing record (check 6 cat. 1 and check 7g cat. 1).
        student(instance(NUMHUS="2", POSTCODE="BS1 4DJ"), HUSID=RENUMBERED, SURNAME="Baker", BIRTHDTE="2001-01-01"),
        # MISSING is not returned: check 7h.
        # Report D, check 8: a new record this year matching the closed-off Cert.
        student(
            instance(NUMHUS="2", QUALAIM="32", PTITLE="Cert Physics", COMDATE="2023-09-25", POSTCODE="CF10 1AA"),
            HUSID=RETURNER, SURNAME="Davies", BIRTHDTE="2003-03-03",
        ),
    ]  # fmt: skip


@pytest.fixture
def submission(run):
    return run(previous_year(), this_year())


def codes(submission):
    return sorted(
        RuleFailure.objects.filter(submission=submission, code__startswith="HIN").values_list("code", flat=True)
    )


def test_the_fixture_has_findings_in_all_four_reports(submission):
    assert codes(submission) == ["HIN5b", "HIN6", "HIN7g", "HIN7h", "HIN8"]
    counts = {c.report.letter: c.failures for c in hin_report_counts(submission=submission)}
    assert counts == {"A": 1, "B": 1, "C": 2, "D": 1}


def test_links_are_stored_with_how_they_were_made(submission):
    links = {
        link.current_instance.husid: (link.kind, link.previous_instance and link.previous_instance.numhus)
        for link in HinLink.objects.filter(submission=submission).select_related(
            "current_instance", "previous_instance"
        )
    }
    assert links == {
        GENDER_CHANGED: (LinkKind.HIN, "1"),
        RENUMBERED: (LinkKind.SUGGESTED, "1"),
        RETURNER: (LinkKind.SUGGESTED, "1"),
    }
    assert "Linked 1 of 3 records" in submission.stage_message and "2 suggested matches" in submission.stage_message


def test_findings_put_this_year_and_last_year_side_by_side(submission):
    findings = {
        f.failure.code: f
        for f in hin_findings_resolve(submission=submission, failures=hin_findings(submission=submission))
    }
    gender = findings["HIN5b"]
    assert (gender.report, gender.check, gender.category) == ("A", "5b", None)
    assert gender.current.values["GENDER"] == "F" and gender.previous.values["GENDER"] == "M"
    assert gender.differing == {"GENDER"} and gender.confirmable
    renumbered = findings["HIN6"]
    assert (renumbered.report, renumbered.category) == ("B", 1)
    assert (renumbered.current.numhus, renumbered.previous.numhus) == ("2", "1")
    assert "NUMHUS" in renumbered.differing and not renumbered.confirmable
    assert f"set NUMHUS to 1 (now 2) on HUSID {RENUMBERED} to restore the link to BSc Maths (2022/23)" in (
        renumbered.failure.message
    )
    # Check 7 is reported on last year's record; the suggested current one is on the other side.
    seven_g = findings["HIN7g"]
    assert (seven_g.report, seven_g.category) == ("C", 1)
    assert seven_g.previous.numhus == "1" and seven_g.current.numhus == "2"
    seven_h = findings["HIN7h"]
    assert seven_h.previous.husid == MISSING and seven_h.current is None and seven_h.previous.status == "live"
    returner = findings["HIN8"]
    assert returner.report == "D" and returner.previous.status == "closed off" and returner.confirmable
    assert returner.differing >= {"NUMHUS", "PTITLE", "COMDATE"}


def test_the_reports_page_has_tabs_with_counts_and_highlights_differences(client, provider_user, submission):
    client.force_login(provider_user)
    page = client.get(reverse("hin_report", args=[submission.pk])).content.decode()
    for letter, count in (("A", 1), ("B", 1), ("C", 2), ("D", 1)):
        assert re.search(rf'id="tab-{letter}">\s*Report {letter} <span class="count has">{count}</span>', page)
    assert 'class="differs"' in page and "GENDER" in page
    report_c = client.get(reverse("hin_report", args=[submission.pk]), {"report": "C"}).content.decode()
    assert MISSING in report_c and "no record" in report_c
    # Errors (report C) cannot be confirmed: no checkboxes.
    assert 'name="failure"' not in report_c


def test_confirming_a_warning_needs_a_reason_and_carries_forward(provider, provider_user, years, submission):
    failure = RuleFailure.objects.get(submission=submission, code="HIN5b")
    with pytest.raises(ActionRefused, match="reason"):
        warning_confirm(submission=submission, failure_ids=[failure.pk], reason="  ", user=provider_user)
    assert (
        warning_confirm(
            submission=submission,
            failure_ids=[failure.pk],
            reason="Gender corrected at re-enrolment",
            user=provider_user,
        )
        == 1
    )
    assert warning_counts(submission=submission)["HIN5b"].outstanding == 0

    # A later upload of the same collection reporting the same change stays confirmed...
    again = process(provider, provider_user, years[1], student_record(*this_year(), recid=CURRENT_RECID))
    assert warning_counts(submission=again)["HIN5b"].confirmed == 1
    (finding,) = hin_findings_resolve(submission=again, failures=hin_findings(submission=again, check="5b"))
    assert finding.confirmation.reason == "Gender corrected at re-enrolment"
    assert finding.confirmation.submission_id == submission.pk
    # ...but a different change of the same record is a new question.
    changed = this_year()
    changed[0]["GENDER"] = "X"
    third = process(provider, provider_user, years[1], student_record(*changed, recid=CURRENT_RECID))
    assert warning_counts(submission=third)["HIN5b"].outstanding == 1


def test_confirming_through_the_page(client, provider_user, submission):
    failure = RuleFailure.objects.get(submission=submission, code="HIN8")
    client.force_login(provider_user)
    url = reverse("hin_report", args=[submission.pk])
    response = client.post(url, {"failure": [failure.pk], "reason": ""}, follow=True)
    assert "Give a reason" in response.content.decode()
    response = client.post(url, {"failure": [failure.pk], "reason": "New programme: Cert Physics"}, follow=True)
    assert "Confirmed 1 warning" in response.content.decode()
    page = client.get(url, {"report": "D"}).content.decode()
    assert "New programme: Cert Physics" in page and "Confirmed" in page


def test_the_page_refuses_failure_ids_that_are_no_ids_without_a_500(client, provider_user, submission):
    """A posted id past 64 bits overflowed the query; "²" passed isdigit() and broke int()."""
    warning = RuleFailure.objects.get(submission=submission, code="HIN8")
    client.force_login(provider_user)
    url = reverse("hin_report", args=[submission.pk])
    for ids in (["100000000000000000000"], [str(2**63)], ["²"], ["-1"], [str(warning.pk), "100000000000000000000"]):
        response = client.post(url, {"failure": ids, "reason": "Right"}, follow=True)
        assert response.status_code == 200
        assert "Only this submission&#x27;s warnings can be confirmed." in response.content.decode(), ids
    assert not WarningConfirmation.objects.exists()


def test_the_page_says_when_the_ticked_warnings_were_already_confirmed(client, provider_user, submission):
    hin8 = RuleFailure.objects.get(submission=submission, code="HIN8")
    hin5b = RuleFailure.objects.get(submission=submission, code="HIN5b")
    client.force_login(provider_user)
    url = reverse("hin_report", args=[submission.pk])
    assert (
        "Confirmed 1" in client.post(url, {"failure": [hin8.pk], "reason": "Moved house"}, follow=True).content.decode()
    )
    page = client.post(url, {"failure": [hin8.pk], "reason": "again"}, follow=True).content.decode()
    assert "That warning was already confirmed: nothing changed." in page and "Confirmed 1" not in page
    page = client.post(url, {"failure": [hin8.pk, hin5b.pk], "reason": "Passport seen"}, follow=True)
    page = page.content.decode()
    assert "Confirmed 1 warning as data quality improvement." in page
    assert "1 already confirmed keeps the reason first given." in page
    assert WarningConfirmation.objects.get(code="HIN8").reason == "Moved house"
    page = client.post(url, {"failure": [hin8.pk], "reason": "y" * 2001}, follow=True).content.decode()
    assert "shorten it to at most 2,000" in page


def test_errors_and_other_submissions_failures_cannot_be_confirmed(provider_user, submission, other_provider):
    error = RuleFailure.objects.get(submission=submission, code="HIN6")
    with pytest.raises(ActionRefused):
        warning_confirm(submission=submission, failure_ids=[error.pk], reason="x", user=provider_user)
    assert not WarningConfirmation.objects.exists()


def test_liaison_sees_confirmations_but_cannot_confirm(client, provider_user, liaison, submission):
    failure = RuleFailure.objects.get(submission=submission, code="HIN5b")
    warning_confirm(submission=submission, failure_ids=[failure.pk], reason="Checked the passport", user=provider_user)
    client.force_login(liaison)
    page = client.get(reverse("hin_report", args=[submission.pk]), {"report": "A"}).content.decode()
    assert "Checked the passport" in page and 'name="failure"' not in page
    with pytest.raises(Exception, match="provider's own staff"):
        warning_confirm(submission=submission, failure_ids=[failure.pk], reason="x", user=liaison)


def test_another_provider_gets_404_everywhere(client, other_user, submission):
    client.force_login(other_user)
    for name in ("hin_report", "hin_report_csv", "hin_target_list", "hin_target_list_csv"):
        assert client.get(reverse(name, args=[submission.pk])).status_code == 404
    failure = RuleFailure.objects.get(submission=submission, code="HIN5b")
    assert (
        client.post(reverse("hin_report", args=[submission.pk]), {"failure": [failure.pk], "reason": "x"}).status_code
        == 404
    )


def _csv(response):
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_report_csv_has_both_records(client, provider_user, submission):
    client.force_login(provider_user)
    rows = _csv(client.get(reverse("hin_report_csv", args=[submission.pk])))
    assert sorted((r["report"], r["check"]) for r in rows) == [
        ("A", "5b"),
        ("B", "6"),
        ("C", "7g"),
        ("C", "7h"),
        ("D", "8"),
    ]
    gender = next(r for r in rows if r["check"] == "5b")
    assert (gender["this year GENDER"], gender["last year GENDER"]) == ("F", "M")
    assert gender["this year INSTID"] == "0168"
    only_c = _csv(client.get(reverse("hin_report_csv", args=[submission.pk]), {"report": "C"}))
    assert {r["check"] for r in only_c} == {"7g", "7h"}


def test_target_list_page_and_csv(client, provider_user, submission):
    previous = submission.collection.previous.submissions.get(status=SubmissionStatus.APPROVED)
    client.force_login(provider_user)
    page = client.get(reverse("hin_target_list", args=[previous.pk])).content.decode()
    assert MISSING in page and RETURNER not in page  # the Cert was closed off
    rows = _csv(client.get(reverse("hin_target_list_csv", args=[previous.pk])))
    assert {r["HUSID"] for r in rows} == {GENDER_CHANGED, RENUMBERED, MISSING}


def test_the_target_list_csv_is_kept_after_its_first_download(client, provider_user, other_user, submission):
    """A finished run's Target List never changes: the second download (page or API) is the file
    the first one wrote, byte for byte, with no query of the records (issue 11)."""
    previous = submission.collection.previous.submissions.get(status=SubmissionStatus.APPROVED)
    client.force_login(provider_user)
    url = reverse("hin_target_list_csv", args=[previous.pk])
    first = b"".join(client.get(url).streaming_content)
    with CaptureQueriesContext(connection) as queries:
        second = client.get(url)
        api = APIClient()
        api.force_authenticate(provider_user)
        from_api = api.get(f"/api/v1/submissions/{previous.pk}/hin-target-list.csv")
    assert isinstance(second, FileResponse) and isinstance(from_api, FileResponse)
    assert b"".join(second.streaming_content) == b"".join(from_api.streaming_content) == first
    assert not [q for q in queries.captured_queries if "sr_instance" in q["sql"]]
    client.force_login(other_user)  # the file is there, but not for another provider
    assert client.get(url).status_code == 404


def test_without_previous_year_data_the_page_says_so(client, provider, provider_user, years):
    submission = process(provider, provider_user, years[1], student_record(student(), recid=CURRENT_RECID))
    client.force_login(provider_user)
    page = client.get(reverse("hin_report", args=[submission.pk])).content.decode()
    assert "No previous-year data: year-on-year checks not run." in page


def test_the_submission_page_summarises_the_reports(client, provider_user, submission):
    client.force_login(provider_user)
    page = client.get(reverse("submission_detail", args=[submission.pk])).content.decode()
    for text in ("Report A: 1", "Report B: 1", "Report C: 2", "Report D: 1"):
        assert text in page


def test_the_approval_panel_sends_confirmable_warnings_to_the_hin_reports(client, provider_user, submission):
    client.force_login(provider_user)
    page = client.get(reverse("submission_detail", args=[submission.pk])).content.decode()
    url = reverse("hin_report", args=[submission.pk])
    assert f'href="{url}?report=A&amp;check=5b&amp;status=open"' in page
    assert f'href="{url}?report=D&amp;check=8&amp;status=open"' in page
    # The submission has errors: no override requests until a file passes.
    assert 'class="override-request"' not in page


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example/", "https://evil.example/"])
def test_confirming_never_redirects_to_another_site(client, provider_user, submission, target):
    failure = RuleFailure.objects.get(submission=submission, code="HIN8")
    client.force_login(provider_user)
    url = reverse("hin_report", args=[submission.pk])
    response = client.post(url, {"failure": [failure.pk], "reason": "New programme", "next": target})
    assert response.status_code == 302 and response["Location"] == url
    kept = client.post(url, {"failure": [failure.pk], "reason": "x", "next": f"{url}?report=D"})
    assert kept["Location"] == f"{url}?report=D"


def test_markup_in_a_compared_record_is_shown_as_text(client, provider_user, run):
    """The side-by-side rows are built in Python (hin_side_by_side_rows), not the template: each value
    is still escaped."""
    hostile = '<img src=x onerror="alert(1)">'
    previous = [student(instance(), HUSID=GENDER_CHANGED, GENDER="M", SURNAME=hostile)]
    current = [student(instance(), HUSID=GENDER_CHANGED, GENDER="F", SURNAME=hostile)]
    submission = run(previous, current)
    client.force_login(provider_user)
    page = client.get(reverse("hin_report", args=[submission.pk]), {"report": "A"}).content.decode()
    assert hostile not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert '<tr class="differs"><th scope="row" class="mono">GENDER <span class="small muted">compared' in page


def test_confirm_all_counts_the_open_warnings_from_the_stored_counts(client, provider_user, submission):
    """Unfiltered, the "confirm all" count comes from the per-rule counts the page reads anyway; it
    equals counting the findings, before and after one is confirmed."""
    client.force_login(provider_user)
    url = reverse("hin_report", args=[submission.pk])
    assert client.get(url, {"report": "A"}).context["matching_open"] == 1
    failure = RuleFailure.objects.get(submission=submission, code="HIN5b")
    warning_confirm(submission=submission, failure_ids=[failure.pk], reason="Passport seen", user=provider_user)
    assert client.get(url, {"report": "A"}).context["matching_open"] == 0
    assert client.get(url, {"report": "D"}).context["matching_open"] == 1
    assert client.get(url, {"report": "D", "husid": RETURNER[:6]}).context["matching_open"] == 1
    assert client.get(url, {"report": "D", "check": "5b"}).context["matching_open"] == 0


def test_the_api_writes_each_record_as_its_documented_serializer_would(submission):
    """HinFindingSerializer writes the records as plain dicts (fast); they must stay what the schema
    documents (HinRecordSerializer), field for field, for a record on either side or none."""
    from hin.serializers import HinFindingSerializer, HinRecordSerializer

    findings = hin_findings_resolve(submission=submission, failures=hin_findings(submission=submission))
    rows = HinFindingSerializer(findings, many=True).data
    sides = 0
    for finding, row in zip(findings, rows, strict=True):
        for side in ("current", "previous"):
            record = getattr(finding, side)
            documented = HinRecordSerializer(record, compared=finding.compared).data if record else None
            assert row[side] == (dict(documented) if documented else None)
            sides += record is not None
    assert sides == 2 * len(findings) - 1  # check 7h has no current record


def test_each_failure_carries_its_students_names_for_the_surname_order(client, provider_user, submission):
    """The rules engine copies the student's names onto each failure (an index serves the failures
    list's surname order only on that table): this year's student, or for check 7h, reported on
    last year's record, last year's."""
    failures = RuleFailure.objects.filter(submission=submission).select_related("student")
    assert failures.count() >= 5
    for failure in failures:
        assert (failure.fnames, failure.surname) == (failure.student.fnames, failure.student.surname), failure.code
    assert failures.get(code="HIN7h").surname == "Clark"
    client.force_login(provider_user)
    page = client.get(reverse("submission_failures", args=[submission.pk]), {"sort": "-surname"})
    surnames = [f.surname for f in page.context["failures"]]
    assert surnames == sorted(surnames, reverse=True) and "Davies" in surnames


def test_a_confirmation_reason_with_markup_is_shown_as_text(client, provider_user, submission):
    """The finding rows are built by a tag (hin_finding); the reason a provider typed is escaped."""
    failure = RuleFailure.objects.get(submission=submission, code="HIN5b")
    reason = '<script>alert("x")</script> & =cmd'
    warning_confirm(submission=submission, failure_ids=[failure.pk], reason=reason, user=provider_user)
    client.force_login(provider_user)
    page = client.get(reverse("hin_report", args=[submission.pk]), {"report": "A"}).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; =cmd" in page
    assert f'id="finding-{failure.pk}"' in page and '<span class="badge ok">Confirmed</span>' in page
