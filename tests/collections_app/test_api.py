"""REST API v1: uploading files, following them through the pipeline, and reading the results."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from collections_app.models import CollectionKind, RuleFailure, Submission
from student_record.sample_data import write_student_record

from .. import factories
from ..xmlbuild import instance, student, student_record

API = "/api/v1"
UPLOAD = f"{API}/collections/C23051/submissions/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def sample_file(provider, *, instances=20, defect_rate=0.3, seed=1) -> bytes:
    out = io.StringIO()
    write_student_record(
        out,
        instances=instances,
        recid="23051",
        instid=provider.instid,
        ukprn=provider.ukprn,
        reporting_year=2023,
        seed=seed,
        defect_rate=defect_rate,
    )
    return out.getvalue().encode()


def xml_upload(content: bytes, name="record.xml") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/xml")


def read_csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


# -- accepting uploads ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["provider_user", "approver"])
def test_provider_staff_upload_for_their_own_provider(role, request, provider, collection):
    user = request.getfixturevalue(role)
    response = client_for(user).post(UPLOAD, {"file": xml_upload(sample_file(provider))})
    assert response.status_code == 202, response.json()
    data = response.json()
    submission = Submission.objects.get()
    assert data == {
        "id": submission.pk,
        "url": f"http://testserver{API}/submissions/{submission.pk}/",
        "status": "queued",
        "stage": "queued",
        "progress": 0,
    }
    assert response["Location"] == data["url"]
    assert submission.provider == provider
    assert submission.uploaded_by == user
    assert submission.original_name == "record.xml"
    # The URL it gives is the one to poll.
    assert client_for(user).get(data["url"]).json()["status"] == "queued"


def test_provider_staff_may_name_their_own_ukprn(provider_user, provider, collection):
    response = client_for(provider_user).post(UPLOAD, {"file": xml_upload(sample_file(provider)), "ukprn": "10007794"})
    assert response.status_code == 202


def test_provider_staff_naming_another_provider_get_404(provider_user, provider, other_provider, collection):
    response = client_for(provider_user).post(
        UPLOAD, {"file": xml_upload(sample_file(other_provider)), "ukprn": other_provider.ukprn}
    )
    assert response.status_code == 404
    assert not Submission.objects.exists()


@pytest.mark.parametrize("ukprn", ["10000001", "", "99999999"])
def test_liaison_cannot_upload_through_the_api(liaison, other_provider, collection, ukprn):
    # Naming a provider, naming none, naming an unknown one: always 403 with a message, nothing stored.
    data = {"file": xml_upload(sample_file(other_provider))} | ({"ukprn": ukprn} if ukprn else {})
    response = client_for(liaison).post(UPLOAD, data)
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "forbidden"
    assert "provider's own staff" in response.json()["detail"]
    assert not Submission.objects.exists()


def test_upload_to_an_unknown_collection_is_404(provider_user, provider):
    response = client_for(provider_user).post(
        f"{API}/collections/C99051/submissions/", {"file": xml_upload(sample_file(provider))}
    )
    assert response.status_code == 404


def test_upload_with_a_token_needs_no_csrf(provider_user, provider, collection):
    token = Token.objects.create(user=provider_user)
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(UPLOAD, {"file": xml_upload(sample_file(provider))}, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 202


# -- refusals: 400 with a code and a message, nothing stored -------------------------------------


def closed_collection():
    now = timezone.now()
    return factories.CollectionFactory(
        reference="C22051",
        name="Student record 2022/23",
        reporting_year=2022,
        opens=now - timedelta(days=400),
        approval_deadline=now - timedelta(days=300),
    )


def test_closed_collection_refuses_uploads(provider_user, provider):
    closed_collection()
    response = client_for(provider_user).post(
        f"{API}/collections/C22051/submissions/", {"file": xml_upload(sample_file(provider))}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "collection_closed"
    assert "C22051 closed on" in response.json()["detail"]
    assert not Submission.objects.exists()


def test_collection_not_open_yet_refuses_uploads(provider_user, provider):
    now = timezone.now()
    factories.CollectionFactory(
        reference="C24051",
        reporting_year=2024,
        opens=now + timedelta(days=5),
        approval_deadline=now + timedelta(days=50),
    )
    response = client_for(provider_user).post(
        f"{API}/collections/C24051/submissions/", {"file": xml_upload(sample_file(provider))}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "collection_not_open"
    assert not Submission.objects.exists()


def test_contact_details_collection_accepts_uploads_and_names_a_student_record_file(
    provider_user, provider, django_capture_on_commit_callbacks
):
    """The contact details kind is registered: its collections take uploads (a Student record
    file there is rejected by the pipeline, saying which file it is)."""
    factories.CollectionFactory(reference="C23071", kind=CollectionKind.CONTACT_DETAILS, cohort="A")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(provider_user).post(
            f"{API}/collections/C23071/submissions/", {"file": xml_upload(sample_file(provider))}
        )
    assert response.status_code == 202, response.content
    submission = Submission.objects.get()
    assert submission.status == "rejected"
    (error,) = submission.schema_errors.all()
    assert "This is a Student record file (<StudentRecord>)" in error.message


@pytest.mark.parametrize(
    "content,name,code,words",
    [
        (b"", "record.xml", "empty_file", "The file is empty"),
        (b"HUSID,NUMHUS\n1,2\n", "record.csv", "not_xml", "This file is not XML"),
        (b"PK\x03\x04 zipped", "record.zip", "not_xml", "This file is not XML"),
    ],
)
def test_bad_files_are_refused(content, name, code, words, provider_user, collection):
    response = client_for(provider_user).post(UPLOAD, {"file": xml_upload(content, name)})
    assert response.status_code == 400
    assert response.json() == {"code": code, "detail": response.json()["detail"]}
    assert words in response.json()["detail"]
    assert not Submission.objects.exists()


def test_too_large_a_file_is_refused(settings, provider_user, provider, collection):
    settings.MAX_UPLOAD_BYTES = 10
    response = client_for(provider_user).post(UPLOAD, {"file": xml_upload(sample_file(provider))})
    assert response.status_code == 400
    assert response.json()["code"] == "file_too_large"
    assert "the limit is 10\xa0bytes" in response.json()["detail"]
    assert not Submission.objects.exists()


def test_missing_file_is_refused(provider_user, collection):
    response = client_for(provider_user).post(UPLOAD, {"ukprn": "10007794"})
    assert response.status_code == 400
    assert response.json()["code"] == "no_file"
    assert not Submission.objects.exists()


def test_json_body_is_unsupported(provider_user, collection):
    response = client_for(provider_user).post(UPLOAD, {"file": "<StudentRecord/>"}, format="json")
    assert response.status_code == 415
    assert not Submission.objects.exists()


# -- through the pipeline -------------------------------------------------------------------


@pytest.fixture
def processed(provider_user, provider, collection, django_capture_on_commit_callbacks):
    """A file with rule failures, uploaded through the API and processed in-process."""
    client = client_for(provider_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(UPLOAD, {"file": xml_upload(sample_file(provider))})
    assert response.status_code == 202, response.json()
    return client, response.json()["id"]


def test_processed_submission_reports_its_verdict(processed):
    client, pk = processed
    data = client.get(f"{API}/submissions/{pk}/").json()
    assert data["status"] == "failed", data["error_message"]
    assert data["stage"] == "done"
    assert data["progress"] == 100
    assert data["error_message"] == ""
    counts = data["counts"]
    assert counts["students"] > 0 and counts["instances"] >= 20
    assert counts["errors"] > 0
    assert counts["schema_errors"] == 0
    assert counts["errors"] == RuleFailure.objects.filter(submission_id=pk, severity="error").count()
    assert counts["warnings"] == RuleFailure.objects.filter(submission_id=pk, severity="warning").count()
    rules = data["rules"]
    assert rules and set(rules[0]) == {"code", "title", "severity", "count"}
    assert sum(r["count"] for r in rules if r["severity"] == "error") == counts["errors"]
    assert rules[0]["count"] > 0  # failing rules first
    assert all(r["title"] for r in rules)
    assert data["changes"]["previous_submission"] is None


def test_failures_filter_by_rule_and_severity(processed):
    client, pk = processed
    url = f"{API}/submissions/{pk}/failures/"
    everything = client.get(url, {"page_size": 1000}).json()
    assert everything["count"] == RuleFailure.objects.filter(submission_id=pk).count() > 0
    row = everything["results"][0]
    assert set(row) == {"id", "rule", "severity", "line", "husid", "numhus", "fnames", "surname", "field", "value",
                        "message"}  # fmt: skip

    rule = client.get(f"{API}/submissions/{pk}/").json()["rules"][0]
    by_rule = client.get(url, {"rule": rule["code"], "page_size": 1000}).json()
    assert by_rule["count"] == rule["count"]
    assert {r["rule"] for r in by_rule["results"]} == {rule["code"]}

    errors = client.get(url, {"severity": "error", "page_size": 1000}).json()
    assert errors["count"] == RuleFailure.objects.filter(submission_id=pk, severity="error").count()
    assert {r["severity"] for r in errors["results"]} == {"error"}
    warnings = client.get(url, {"severity": "warning", "page_size": 1000}).json()
    assert errors["count"] + warnings["count"] == everything["count"]
    assert client.get(url, {"rule": "NO-SUCH-RULE"}).json()["count"] == 0


def test_failures_are_sorted_searched_and_paginated(processed):
    client, pk = processed
    url = f"{API}/submissions/{pk}/failures/"
    total = RuleFailure.objects.filter(submission_id=pk).count()
    lines = [r["line"] for r in client.get(url, {"sort": "-line", "page_size": 1000}).json()["results"]]
    assert lines == sorted(lines, reverse=True)

    assert total > 1
    first = client.get(url, {"page_size": 1}).json()
    assert first["count"] == total and len(first["results"]) == 1
    assert first["next"] is not None
    second = client.get(url, {"page_size": 1, "page": 2}).json()
    assert second["results"][0]["id"] != first["results"][0]["id"]
    assert len(client.get(url, {"page_size": 5000}).json()["results"]) == total  # capped at 1000, not refused

    with_student = RuleFailure.objects.filter(submission_id=pk, student__isnull=False).select_related("student").first()
    found = client.get(url, {"search": with_student.student.surname, "page_size": 1000}).json()["results"]
    row = next(r for r in found if r["id"] == with_student.pk)
    assert (row["surname"], row["fnames"]) == (with_student.student.surname, with_student.student.fnames)
    assert client.get(url, {"search": "no-such-person-zzz"}).json()["count"] == 0


def test_failures_csv_has_the_same_rows(processed):
    client, pk = processed
    submission = Submission.objects.get(pk=pk)
    response = client.get(f"{API}/submissions/{pk}/failures.csv")
    assert response.status_code == 200
    filename = f"C23051-10007794-submission-{pk}-failures.csv"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    rows = read_csv(response)
    assert rows[0] == ["rule", "severity", "line", "HUSID", "NUMHUS", "FNAMES", "SURNAME", "field", "value", "message"]
    assert len(rows) - 1 == RuleFailure.objects.filter(submission=submission).count()

    errors = read_csv(client.get(f"{API}/submissions/{pk}/failures.csv", {"severity": "error"}))
    assert len(errors) - 1 == submission.error_count
    assert {row[1] for row in errors[1:]} == {"error"}

    code = client.get(f"{API}/submissions/{pk}/").json()["rules"][0]["code"]
    by_rule = read_csv(client.get(f"{API}/submissions/{pk}/failures.csv", {"rule": code}))
    assert len(by_rule) - 1 == RuleFailure.objects.filter(submission=submission, code=code).count()
    assert {row[0] for row in by_rule[1:]} == {code}


def test_csv_download_whatever_the_client_accepts(processed):
    client, pk = processed
    for accept in ("text/csv", "text/html", "*/*"):  # a download is a file, whatever the client accepts
        response = client.get(f"{API}/submissions/{pk}/failures.csv", HTTP_ACCEPT=accept)
        assert response.status_code == 200, accept
        assert read_csv(response)[0][0] == "rule"


def test_another_provider_cannot_download_the_csv(processed, other_user):
    _, pk = processed
    client = client_for(other_user)
    for suffix in ("failures.csv", "schema-errors.csv", "failures/", "schema-errors/", ""):
        assert client.get(f"{API}/submissions/{pk}/{suffix}").status_code == 404, suffix
    assert client.get(f"{API}/submissions/{pk}/failures.csv", HTTP_ACCEPT="text/csv").status_code == 404


def test_rejected_file_lists_its_schema_errors(provider_user, provider, collection, django_capture_on_commit_callbacks):
    content = student_record(student(instance(COMDATE="2022-13-40")), student(GENDER="Q"))
    client = client_for(provider_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(UPLOAD, {"file": xml_upload(content)})
    assert response.status_code == 202
    pk = response.json()["id"]

    data = client.get(f"{API}/submissions/{pk}/").json()
    assert data["status"] == "rejected"
    assert data["progress"] == 100
    assert data["counts"]["schema_errors"] == 2
    assert data["rules"] == []

    listing = client.get(f"{API}/submissions/{pk}/schema-errors/").json()
    assert listing["count"] == 2
    assert set(listing["results"][0]) == {"line", "record", "path", "message"}
    assert any("2022-13-40" in row["message"] for row in listing["results"])

    response = client.get(f"{API}/submissions/{pk}/schema-errors.csv")
    assert (
        response["Content-Disposition"] == f'attachment; filename="C23051-10007794-submission-{pk}-schema-errors.csv"'
    )
    rows = read_csv(response)
    assert rows[0] == ["line", "record", "path", "message"]
    assert len(rows) == 3
    assert client.get(f"{API}/submissions/{pk}/failures/").json()["count"] == 0


def test_collection_submission_list_shows_the_upload(processed):
    client, pk = processed
    data = client.get(UPLOAD).json()
    assert data["count"] == 1
    row = data["results"][0]
    assert row["id"] == pk
    assert row["status"] == "failed"
    assert row["url"].endswith(f"/api/v1/submissions/{pk}/")
    assert row["counts"]["errors"] > 0


def test_two_files_in_one_upload_are_refused_not_one_taken(client, provider_user, provider, collection):
    """Both paths used to take the last "file" part silently."""
    two = [xml_upload(sample_file(provider)), xml_upload(b"not xml")]
    response = client_for(provider_user).post(UPLOAD, {"file": two})
    assert response.status_code == 400 and response.json()["code"] == "several_files"
    assert response.json()["detail"] == "2 files were sent in one upload: send one file at a time."
    client.force_login(provider_user)
    page = client.post(
        reverse("collection_upload", args=[collection.reference]),
        {"file": [xml_upload(sample_file(provider)), xml_upload(sample_file(provider))]},
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    assert page.status_code == 400 and page.json()["code"] == "several_files"
    assert not Submission.objects.exists()
