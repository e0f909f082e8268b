"""Collection and submission screens: who sees what, and what they show."""

import io

import pytest
from django.http import FileResponse
from django.urls import reverse
from rest_framework.test import APIClient

from collections_app.models import Submission
from student_record.sample_data import write_student_record

from ..factories import SubmissionFactory
from ..xmlbuild import student, student_record


@pytest.fixture
def failed_submission(provider, provider_user, collection, django_capture_on_commit_callbacks, client):
    out = io.StringIO()
    write_student_record(out, instances=80, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
                         reporting_year=2023, seed=2, defect_rate=0.3)  # fmt: skip
    client.force_login(provider_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("collection_upload", args=[collection.reference]),
            {"file": io.BytesIO(out.getvalue().encode())},
        )
    client.logout()
    assert response.status_code == 302
    submission = Submission.objects.get()
    assert submission.status == "failed"
    return submission


SUBMISSION_PAGES = ["submission_detail", "submission_status", "submission_failures", "submission_failures_csv",
                    "submission_schema_errors_csv"]  # fmt: skip


@pytest.mark.parametrize("name", SUBMISSION_PAGES)
def test_another_providers_submission_is_404(name, client, failed_submission, other_user):
    client.force_login(other_user)
    assert client.get(reverse(name, args=[failed_submission.pk])).status_code == 404


@pytest.mark.parametrize("name", SUBMISSION_PAGES)
def test_own_provider_and_liaison_see_the_submission(name, client, failed_submission, approver, liaison):
    for user in (approver, liaison):
        client.force_login(user)
        assert client.get(reverse(name, args=[failed_submission.pk])).status_code == 200


@pytest.mark.parametrize("name", SUBMISSION_PAGES)
def test_anonymous_is_sent_to_login(name, client, failed_submission):
    response = client.get(reverse(name, args=[failed_submission.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_retry_of_another_providers_submission_is_404(client, other_user, provider, provider_user, collection):
    submission = SubmissionFactory(provider=provider, uploaded_by=provider_user, collection=collection, status="error")
    client.force_login(other_user)
    assert client.post(reverse("submission_retry", args=[submission.pk])).status_code == 404
    submission.refresh_from_db()
    assert submission.status == "error"


def test_submission_page_shows_counts_rules_and_chart(client, failed_submission, provider_user):
    client.force_login(provider_user)
    page = client.get(reverse("submission_detail", args=[failed_submission.pk])).content.decode()
    assert "Failed" in page and "SR.HUSID.01" in page and 'class="chart"' in page
    assert f"{failed_submission.error_count}" in page


def test_submission_page_puts_what_to_fix_first(client, failed_submission, provider_user):
    """Verdict, then failing errors by count, then warnings by count, passed rules folded away, then
    approval (issue 12, item 1)."""
    client.force_login(provider_user)
    page = client.get(reverse("submission_detail", args=[failed_submission.pk])).content.decode()
    verdict, errors, approval = (
        page.index('id="verdict"'),
        page.index('id="rules-error-table"'),
        page.index('id="approval"'),
    )
    assert verdict < errors < approval
    results = {r.code: r for r in failed_submission.rule_results.all()}
    error_codes = [c for c, r in sorted(results.items(), key=lambda i: (-i[1].failure_count, i[0]))
                   if r.severity == "error" and r.failure_count]  # fmt: skip
    error_table = page[errors : page.index("</table>", errors)]
    assert [c for c in error_codes if c in error_table] == error_codes
    assert sorted(error_codes, key=error_table.index) == error_codes  # largest first
    passed = [c for c, r in results.items() if not r.failure_count]
    assert passed, "the sample file should pass some rules"
    folded = page[page.index('id="rules-passed"') : page.index("</details>", page.index('id="rules-passed"'))]
    assert f"{len(passed)} rules passed" in folded and all(c in folded for c in passed)
    for code in passed:  # listed once, in the folded table only
        assert page.count(f'<td class="mono">{code}</td>') == 1


def test_failures_list_filters_sorts_and_exports(client, failed_submission, provider_user):
    client.force_login(provider_user)
    url = reverse("submission_failures", args=[failed_submission.pk])
    page = client.get(url, {"rule": "SR.HIN.01", "sort": "-husid"})
    codes = {f.code for f in page.context["page"]}
    assert codes == {"SR.HIN.01"}
    husids = [f.husid for f in page.context["page"]]
    assert husids == sorted(husids, reverse=True)
    csv = b"".join(client.get(reverse("submission_failures_csv", args=[failed_submission.pk]), {"rule": "SR.HIN.01"}))
    lines = csv.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("rule,severity,line,HUSID")
    assert len(lines) - 1 == failed_submission.failures.filter(code="SR.HIN.01").count()


def test_a_failures_csv_is_kept_per_rule_and_order_but_a_search_is_not(client, provider_user, failed_submission):
    """A finished run's failures never change: each rule/severity/order's CSV is the kept file from
    its second download on (issue 11); another choice is another file, a search is never kept."""
    client.force_login(provider_user)
    url = reverse("submission_failures_csv", args=[failed_submission.pk])
    codes = list(failed_submission.failures.values_list("code", flat=True).distinct())
    assert len(codes) > 1
    choices = [{}, {"rule": codes[0]}, {"rule": codes[1]}, {"rule": codes[0], "sort": "-husid"}]
    first = [b"".join(client.get(url, choice)) for choice in choices]
    again = [client.get(url, choice) for choice in choices]
    assert all(isinstance(response, FileResponse) for response in again)
    assert [b"".join(response) for response in again] == first
    assert len(set(first)) == len(choices)
    api = APIClient()
    api.force_authenticate(provider_user)
    from_api = api.get(f"/api/v1/submissions/{failed_submission.pk}/failures.csv", {"rule": codes[1]})
    assert isinstance(from_api, FileResponse) and b"".join(from_api) == first[2]
    for _ in range(2):
        searched = client.get(url, {"q": failed_submission.failures.first().husid})
        assert not isinstance(searched, FileResponse)


def test_upload_refusal_is_shown_and_stores_nothing(client, provider_user, collection):
    client.force_login(provider_user)
    response = client.post(
        reverse("collection_upload", args=[collection.reference]),
        {"file": io.BytesIO(b"HUSID,NUMHUS\n")},
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    assert response.status_code == 400 and "not XML" in response.json()["detail"]
    assert Submission.objects.count() == 0


def test_liaison_sees_the_history_but_no_upload_form(client, liaison, provider, collection):
    SubmissionFactory(provider=provider, collection=collection, original_name="their-return.xml")
    client.force_login(liaison)
    page = client.get(reverse("collection_detail", args=[collection.reference]), {"provider": provider.ukprn})
    assert page.status_code == 200 and not page.context["can_upload"]
    html = page.content.decode()
    assert "their-return.xml" in html
    assert 'id="upload-form"' not in html and 'type="file"' not in html
    assert "uploaded by its own staff" in html


@pytest.mark.parametrize("xhr", [True, False])
def test_liaison_upload_through_the_form_is_refused(
    client, liaison, provider, collection, django_capture_on_commit_callbacks, xhr
):
    client.force_login(liaison)
    headers = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"} if xhr else {}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("collection_upload", args=[collection.reference]),
            {"file": io.BytesIO(student_record(student())), "provider": provider.ukprn},
            **headers,
        )
    if xhr:
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden" and "provider's own staff" in response.json()["detail"]
    else:
        assert response.status_code == 302
        page = client.get(response["Location"]).content.decode()
        assert "provider&#x27;s own staff" in page
    assert not Submission.objects.exists()


def test_liaison_may_retry_an_errored_submission_from_its_page(
    client, liaison, provider, provider_user, collection, django_capture_on_commit_callbacks
):
    submission = SubmissionFactory(
        provider=provider, uploaded_by=provider_user, collection=collection, status="error", error_message="boom"
    )
    submission.file.save("r.xml", io.BytesIO(student_record(student())), save=True)
    client.force_login(liaison)
    page = client.get(reverse("submission_detail", args=[submission.pk]))
    assert page.context["can_retry"] and b"Retry processing" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("submission_retry", args=[submission.pk]))
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.status == "passed" and Submission.objects.count() == 1


def test_history_shows_only_own_providers_uploads(client, provider_user, other_provider, collection):
    SubmissionFactory(provider=other_provider, collection=collection, original_name="secret-other.xml")
    client.force_login(provider_user)
    page = client.get(reverse("collection_detail", args=[collection.reference])).content.decode()
    assert "secret-other.xml" not in page


@pytest.mark.parametrize("defect_rate", [0.02, 0.5])  # few failures per student (key lookups), many (a subquery)
def test_failures_are_found_by_the_students_name_either_way(defect_rate, provider, provider_user, collection):
    from collections_app.selectors import failures_for

    from ..hin.test_guidance_examples import process

    out = io.StringIO()
    write_student_record(out, instances=1500, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
                         reporting_year=2023, seed=11, defect_rate=defect_rate)  # fmt: skip
    submission = process(provider, provider_user, collection, out.getvalue().encode())
    few = (submission.error_count + submission.warning_count) * 4 < submission.student_count
    assert few == (defect_rate < 0.1)
    failure = failures_for(submission=submission).exclude(student=None).first()
    found = failures_for(submission=submission, search=failure.student.surname.upper())
    assert failure in found
    assert all(f.student and failure.student.surname.lower() in f.student.surname.lower() for f in found
               if failure.student.surname.lower() not in (f.value or "").lower())  # fmt: skip
    assert not failures_for(submission=submission, search="Zzyzx-nobody").exists()
