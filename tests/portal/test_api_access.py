"""REST API v1: who can see and do what, for every role and endpoint."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from collections_app.models import Collection, RuleFailure, RuleResult, SchemaError, SubmissionStatus

from .. import factories

API = "/api/v1"
ROLES = ["provider_user", "approver", "liaison"]
DENIED_ANONYMOUS = (401, 403)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The factories set a password for every user; the default hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def users(provider_user, approver, liaison, other_user):
    return {"provider_user": provider_user, "approver": approver, "liaison": liaison, "other_user": other_user}


def _submission(provider, collection, **kwargs):
    submission = factories.SubmissionFactory(provider=provider, collection=collection, **kwargs)
    RuleResult.objects.create(submission=submission, code="TEST001", severity="error", failure_count=1)
    RuleFailure.objects.create(
        submission=submission,
        code="TEST001",
        severity="error",
        line=7,
        husid="1234567890123",
        numhus="1",
        field="HUSID",
        value="123",
        message="Not a valid HUSID.",
    )
    SchemaError.objects.create(submission=submission, line=3, path="/StudentRecord/Student", message="Bad element.")
    return submission


@pytest.fixture
def own_submission(provider, collection, provider_user):
    return _submission(provider, collection, uploaded_by=provider_user, status=SubmissionStatus.FAILED)


@pytest.fixture
def other_submission(other_provider, collection, other_user):
    return _submission(other_provider, collection, uploaded_by=other_user, status=SubmissionStatus.FAILED)


# Endpoints that read one provider's data: (name, path built from a provider and a submission).
PROVIDER_SCOPED = {
    "provider": lambda p, s: f"{API}/providers/{p.ukprn}/",
    "submission": lambda p, s: f"{API}/submissions/{s.pk}/",
    "failures": lambda p, s: f"{API}/submissions/{s.pk}/failures/",
    "failures-filtered": lambda p, s: f"{API}/submissions/{s.pk}/failures/?rule=TEST001&severity=error",
    "schema-errors": lambda p, s: f"{API}/submissions/{s.pk}/schema-errors/",
    "failures-csv": lambda p, s: f"{API}/submissions/{s.pk}/failures.csv",
    "schema-errors-csv": lambda p, s: f"{API}/submissions/{s.pk}/schema-errors.csv",
}


@pytest.mark.parametrize("endpoint", PROVIDER_SCOPED)
@pytest.mark.parametrize("role", ROLES)
def test_own_provider_data_is_readable_by_every_role(endpoint, role, users, provider, own_submission):
    response = client_for(users[role]).get(PROVIDER_SCOPED[endpoint](provider, own_submission))
    assert response.status_code == 200


@pytest.mark.parametrize("endpoint", PROVIDER_SCOPED)
@pytest.mark.parametrize("role", ["provider_user", "approver"])
def test_provider_staff_get_404_for_another_providers_data(endpoint, role, users, other_provider, other_submission):
    response = client_for(users[role]).get(PROVIDER_SCOPED[endpoint](other_provider, other_submission))
    assert response.status_code == 404


@pytest.mark.parametrize("endpoint", PROVIDER_SCOPED)
def test_liaison_reads_every_providers_data(endpoint, liaison, other_provider, other_submission):
    response = client_for(liaison).get(PROVIDER_SCOPED[endpoint](other_provider, other_submission))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/providers/"),
        ("get", "/providers/10007794/"),
        ("get", "/collections/"),
        ("get", "/collections/C23051/"),
        ("post", "/collections/"),
        ("patch", "/collections/C23051/"),
        ("get", "/collections/C23051/submissions/"),
        ("post", "/collections/C23051/submissions/"),
        ("get", "/submissions/{id}/"),
        ("post", "/submissions/{id}/retry/"),
        ("get", "/submissions/{id}/failures/"),
        ("get", "/submissions/{id}/schema-errors/"),
        ("get", "/submissions/{id}/failures.csv"),
        ("get", "/submissions/{id}/schema-errors.csv"),
    ],
)
def test_anonymous_is_refused_everywhere(method, path, own_submission):
    response = getattr(APIClient(), method)(API + path.format(id=own_submission.pk))
    assert response.status_code in DENIED_ANONYMOUS


def test_a_bad_token_is_refused(own_submission):
    response = APIClient().get(f"{API}/submissions/{own_submission.pk}/", HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code in DENIED_ANONYMOUS


# -- providers ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["provider_user", "approver"])
def test_provider_staff_list_only_their_own_provider(role, users, provider, other_provider):
    response = client_for(users[role]).get(f"{API}/providers/")
    assert response.status_code == 200
    assert [row["ukprn"] for row in response.json()["results"]] == [provider.ukprn]


def test_liaison_lists_every_provider(liaison, provider, other_provider):
    response = client_for(liaison).get(f"{API}/providers/")
    assert {row["ukprn"] for row in response.json()["results"]} == {provider.ukprn, other_provider.ukprn}


def test_provider_fields(provider_user, provider):
    provider.switchboard_numbers = ["01242 714000"]
    provider.save()
    data = client_for(provider_user).get(f"{API}/providers/{provider.ukprn}/").json()
    assert data == {
        "name": "University of Gloucestershire",
        "ukprn": "10007794",
        "instid": "0168",
        "email_domains": ["uni0168.ac.uk"],
        "switchboard_numbers": ["01242 714000"],
    }


def test_unknown_provider_is_404_for_liaison(liaison):
    assert client_for(liaison).get(f"{API}/providers/99999999/").status_code == 404


# -- token authentication ---------------------------------------------------------------------


def test_token_authentication(provider_user, provider, other_provider, own_submission, other_submission):
    token = Token.objects.create(user=provider_user)
    client = APIClient()
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    assert client.get(f"{API}/providers/", **auth).json()["count"] == 1
    assert client.get(f"{API}/submissions/{own_submission.pk}/", **auth).status_code == 200
    assert client.get(f"{API}/submissions/{other_submission.pk}/", **auth).status_code == 404
    assert client.get(f"{API}/providers/{other_provider.ukprn}/", **auth).status_code == 404


def test_token_authenticated_liaison_can_write(liaison):
    token = Token.objects.create(user=liaison)
    client = APIClient(enforce_csrf_checks=True)  # a token client needs no CSRF token
    response = client.post(
        f"{API}/collections/", collection_payload(), format="json", HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    assert response.status_code == 201, response.json()


def test_session_writes_need_a_csrf_token(liaison):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(liaison)
    assert client.post(f"{API}/collections/", collection_payload(), format="json").status_code == 403


# -- collections ----------------------------------------------------------------------------


def collection_payload(**overrides):
    now = timezone.now()
    payload = {
        "reference": "C24051",
        "name": "Student record 2024/25",
        "kind": "student_record",
        "reporting_year": 2024,
        "opens": (now + timedelta(days=10)).isoformat(),
        "approval_deadline": (now + timedelta(days=100)).isoformat(),
        "final_updates_deadline": (now + timedelta(days=120)).isoformat(),
    }
    payload.update(overrides)
    return payload


@pytest.mark.parametrize("role", ROLES)
def test_collections_are_readable_by_every_role(role, users, collection):
    client = client_for(users[role])
    listing = client.get(f"{API}/collections/")
    assert listing.status_code == 200
    assert [row["reference"] for row in listing.json()["results"]] == ["C23051"]
    detail = client.get(f"{API}/collections/C23051/").json()
    assert detail["phase"] == "open"
    assert detail["closes_at"] is not None
    assert detail["previous"] is None


def test_unknown_collection_is_404(provider_user):
    assert client_for(provider_user).get(f"{API}/collections/C99051/").status_code == 404


def test_liaison_creates_a_collection(liaison, collection):
    response = client_for(liaison).post(f"{API}/collections/", collection_payload(previous="C23051"), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["reference"] == "C24051"
    assert data["phase"] == "not_open"
    assert data["previous"] == "C23051"
    created = Collection.objects.get(reference="C24051")
    assert created.previous == collection
    assert created.closes_at == created.final_updates_deadline


def test_liaison_creates_a_contact_details_collection(liaison):
    payload = collection_payload(
        reference="C23071",
        name="Graduate Outcomes contact details 2023/24 cohort A",
        kind="contact_details",
        reporting_year=2023,
        cohort="A",
    )
    # Dates left out: the cohort's schedule gives them (collections_app.cohorts).
    for name in ("opens", "approval_deadline", "final_updates_deadline"):
        del payload[name]
    response = client_for(liaison).post(f"{API}/collections/", payload, format="json")
    assert response.status_code == 201, response.json()
    created = Collection.objects.get(reference="C23071")
    assert created.cohort == "A"
    assert (created.contact_period_start.isoformat(), created.contact_period_end.isoformat()) == (
        "2024-12-01",
        "2025-02-28",
    )


@pytest.mark.parametrize("role", ["provider_user", "approver"])
def test_provider_staff_cannot_create_or_change_collections(role, users, collection):
    client = client_for(users[role])
    assert client.post(f"{API}/collections/", collection_payload(), format="json").status_code == 403
    assert client.patch(f"{API}/collections/C23051/", {"name": "Renamed"}, format="json").status_code == 403
    assert not Collection.objects.filter(reference="C24051").exists()
    collection.refresh_from_db()
    assert collection.name == "Student record 2023/24"


def test_put_and_delete_are_not_offered(liaison, collection):
    client = client_for(liaison)
    assert client.put(f"{API}/collections/C23051/", collection_payload(), format="json").status_code == 405
    assert client.delete(f"{API}/collections/C23051/").status_code == 405


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"reference": "X23051"}, "reference"),
        ({"reference": "C2305"}, "reference"),
        ({"reference": "C23051"}, "reference"),  # already exists
        ({"reference": "C25051"}, "reference"),  # year digits do not match 2024
        ({"approval_deadline": (timezone.now() + timedelta(days=5)).isoformat()}, "approval_deadline"),
        ({"final_updates_deadline": (timezone.now() + timedelta(days=50)).isoformat()}, "final_updates_deadline"),
        ({"kind": "contact_details"}, "cohort"),
        ({"cohort": "A"}, "cohort"),
        ({"previous": "C99051"}, "previous"),
        ({"name": ""}, "name"),
        ({"kind": "nonsense"}, "kind"),
    ],
)
def test_collection_validation(overrides, field, liaison, collection):
    response = client_for(liaison).post(f"{API}/collections/", collection_payload(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Collection.objects.count() == 1


def test_previous_must_be_an_earlier_collection_of_the_same_kind(liaison):
    factories.CollectionFactory(reference="C25051", reporting_year=2025)
    response = client_for(liaison).post(f"{API}/collections/", collection_payload(previous="C25051"), format="json")
    assert response.status_code == 400
    assert "previous" in response.json()


def test_liaison_patches_a_collection(liaison, collection):
    client = client_for(liaison)
    new_deadline = collection.approval_deadline + timedelta(days=7)
    response = client.patch(
        f"{API}/collections/C23051/",
        {"name": "Student record 2023/24 (extended)", "final_updates_deadline": new_deadline.isoformat()},
        format="json",
    )
    assert response.status_code == 200, response.json()
    collection.refresh_from_db()
    assert collection.name == "Student record 2023/24 (extended)"
    assert collection.closes_at == new_deadline


@pytest.mark.parametrize(
    "change,field",
    [
        ({"reference": "C23052"}, "reference"),
        ({"approval_deadline": "2000-01-01T00:00:00Z"}, "approval_deadline"),  # before the stored opens
        ({"kind": "contact_details"}, "cohort"),
        ({"previous": "C23051"}, "previous"),  # itself
    ],
)
def test_patch_is_validated_against_the_stored_values(change, field, liaison, collection):
    response = client_for(liaison).patch(f"{API}/collections/C23051/", change, format="json")
    assert response.status_code == 400
    assert field in response.json()


# -- submission lists, retry ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["provider_user", "approver"])
def test_provider_staff_list_only_their_submissions(role, users, own_submission, other_submission):
    response = client_for(users[role]).get(f"{API}/collections/C23051/submissions/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [own_submission.pk]
    # Naming another provider does not widen the list.
    response = client_for(users[role]).get(f"{API}/collections/C23051/submissions/?ukprn=10000001")
    assert response.json()["results"] == []


def test_liaison_lists_every_providers_submissions_and_filters(liaison, own_submission, other_submission):
    client = client_for(liaison)
    data = client.get(f"{API}/collections/C23051/submissions/").json()
    assert {row["id"] for row in data["results"]} == {own_submission.pk, other_submission.pk}
    data = client.get(f"{API}/collections/C23051/submissions/?ukprn=10000001").json()
    assert [row["id"] for row in data["results"]] == [other_submission.pk]
    assert data["results"][0]["provider"] == "10000001"
    assert data["results"][0]["url"] == f"http://testserver{API}/submissions/{other_submission.pk}/"


def test_submission_list_of_unknown_collection_is_404(provider_user):
    assert client_for(provider_user).get(f"{API}/collections/C99051/submissions/").status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_retry_a_submission_that_stopped_with_an_error(role, users, own_submission):
    own_submission.status = SubmissionStatus.ERROR
    own_submission.error_message = "Worker lost"
    own_submission.save()
    response = client_for(users[role]).post(f"{API}/submissions/{own_submission.pk}/retry/")
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued"
    own_submission.refresh_from_db()
    assert own_submission.status == SubmissionStatus.QUEUED
    assert own_submission.error_message == ""


def test_retry_of_a_finished_submission_is_400(provider_user, own_submission):
    response = client_for(provider_user).post(f"{API}/submissions/{own_submission.pk}/retry/")
    assert response.status_code == 400
    assert response.json()["code"] == "not_retryable"


@pytest.mark.parametrize("role", ["provider_user", "approver"])
def test_retry_of_another_providers_submission_is_404(role, users, other_submission):
    other_submission.status = SubmissionStatus.ERROR
    other_submission.save()
    assert client_for(users[role]).post(f"{API}/submissions/{other_submission.pk}/retry/").status_code == 404
    other_submission.refresh_from_db()
    assert other_submission.status == SubmissionStatus.ERROR


def test_a_non_numeric_submission_id_is_404(provider_user):
    assert client_for(provider_user).get(f"{API}/submissions/abc/").status_code == 404


def test_detail_has_every_field(provider_user, own_submission):
    data = client_for(provider_user).get(f"{API}/submissions/{own_submission.pk}/").json()
    assert data["id"] == own_submission.pk
    assert data["collection"] == "C23051"
    assert data["provider"] == "10007794"
    assert data["uploaded_by"] == "pat"
    assert data["original_name"] == "record.xml"
    assert set(data["counts"]) == {"students", "instances", "errors", "warnings", "schema_errors"}
    assert data["changes"] == {"previous_submission": None, "added": None, "removed": None, "changed": None}
    assert data["rules"] == [{"code": "TEST001", "title": "TEST001", "severity": "error", "count": 1}]
    for key in ("status", "stage", "progress", "stage_message", "uploaded_at", "sha256", "size", "error_message"):
        assert key in data


def test_failure_row_without_a_student(provider_user, own_submission):
    data = client_for(provider_user).get(f"{API}/submissions/{own_submission.pk}/failures/").json()
    assert data["count"] == 1
    assert data["results"][0] == {
        "id": RuleFailure.objects.get(submission=own_submission).pk,
        "rule": "TEST001",
        "severity": "error",
        "line": 7,
        "husid": "1234567890123",
        "numhus": "1",
        "fnames": None,
        "surname": None,
        "field": "HUSID",
        "value": "123",
        "message": "Not a valid HUSID.",
    }


@pytest.mark.parametrize("query", ["severity=fatal", "sort=nonsense", "sort=-"])
def test_bad_failure_filters_are_400(query, provider_user, own_submission):
    response = client_for(provider_user).get(f"{API}/submissions/{own_submission.pk}/failures/?{query}")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "path",
    ["/providers/", "/collections/", "/collections/C23051/", "/collections/C23051/submissions/", "/submissions/{id}/"],
)
def test_browsable_api_renders(path, liaison, own_submission):
    response = client_for(liaison).get(API + path.format(id=own_submission.pk), HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"<html" in response.content


def test_a_404_says_no_such_thing_in_the_same_words_whichever_lookup_raised_it(provider_user):
    """get_object_or_404 said "No Submission matches the given query." where other views said
    "No such submission." for the same resource."""
    client = APIClient()
    client.force_authenticate(provider_user)
    for path, detail in (
        ("/api/v1/submissions/999999/", "No such submission."),
        ("/api/v1/submissions/999999/failures/", "No such submission."),
        ("/api/v1/submissions/999999/failures.csv", "No such submission."),
        ("/api/v1/queries/999999/", "No such query."),
    ):
        response = client.get(path, HTTP_ACCEPT="application/json")
        assert (response.status_code, response.json()["detail"]) == (404, detail), path
