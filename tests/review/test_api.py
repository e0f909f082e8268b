"""REST API v1 for review: role rules (403), foreign providers (404), refusals (400) and the happy paths."""

import pytest
from rest_framework.test import APIClient

from review import services
from review.models import Query

from ..factories import ApproverFactory
from ..review_helpers import add_warnings, make_submission, temporary_rule
from .records import add_student_record


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def submission(provider, collection):
    return make_submission(provider, collection)


def test_approve(submission, approver, provider_user, other_provider, liaison):
    url = f"/api/v1/submissions/{submission.pk}/approve/"
    assert as_user(provider_user).post(url).status_code == 403
    assert as_user(liaison).post(url).status_code == 403
    assert as_user(ApproverFactory(provider=other_provider)).post(url).status_code == 404
    response = as_user(approver).post(url)
    assert response.status_code == 201
    assert response.json()["sha256"] == submission.sha256 and response.json()["late"] is False
    again = as_user(approver).post(url)
    assert again.status_code == 400 and again.json()["code"] == "already_approved"


def test_approve_refused_with_a_message(provider, collection, approver):
    failed = make_submission(provider, collection, status="failed")
    response = as_user(approver).post(f"/api/v1/submissions/{failed.pk}/approve/")
    assert response.status_code == 400
    assert response.json()["code"] == "not_passed" and "Fix the data" in response.json()["detail"]


def test_overrides_request_list_and_decide(submission, provider_user, approver, liaison, other_user):
    with temporary_rule("TST9", count=1):
        add_warnings(submission, "TST9", 5)
        url = f"/api/v1/submissions/{submission.pk}/overrides/"
        body = {"code": "TST9", "percent": "5", "justification": "Known issue."}
        assert as_user(other_user).post(url, body).status_code == 404
        assert as_user(liaison).post(url, body).status_code == 403
        assert as_user(provider_user).post(url, {**body, "percent": "1"}).json()["code"] == "percent_too_low"
        created = as_user(provider_user).post(url, body)
        assert created.status_code == 201 and created.json()["status"] == "pending"
        override_id = created.json()["id"]
        for user in (liaison, approver):
            assert [o["id"] for o in as_user(user).get(url).json()["results"]] == [override_id]
        decide = f"/api/v1/overrides/{override_id}/decide/"
        assert as_user(approver).post(decide, {"approve": True}).status_code == 403
        assert as_user(other_user).post(decide, {"approve": True}).status_code == 404
        assert as_user(liaison).post(decide, {"approve": False}).json()["code"] == "message_required"
        decided = as_user(liaison).post(decide, {"approve": True, "message": "OK this year."})
        assert decided.status_code == 200 and decided.json()["status"] == "approved"
        assert as_user(approver).post(f"/api/v1/submissions/{submission.pk}/approve/").status_code == 201


def test_queries(submission, provider_user, liaison, other_user):
    add_student_record(submission, "9811681234562")
    create = {"submission": submission.pk, "subject": "Check 5b", "body": "Please confirm.", "rule_code": "HIN5b",
              "husid": "9811681234562", "numhus": "1", "blocks_approval": True}  # fmt: skip
    assert as_user(provider_user).post("/api/v1/queries/", create, format="json").status_code == 403
    assert as_user(liaison).post("/api/v1/queries/", {**create, "submission": 999999}).status_code == 404
    response = as_user(liaison).post("/api/v1/queries/", create, format="json")
    assert response.status_code == 201
    query = response.json()
    assert (query["status"], query["blocks_approval"], query["husid"]) == ("open", True, "9811681234562")
    url = f"/api/v1/queries/{query['id']}/"
    assert as_user(other_user).get(url).status_code == 404
    assert as_user(other_user).get("/api/v1/queries/").json()["results"] == []
    assert as_user(other_user).post(url + "respond/", {"body": "x"}).status_code == 404
    assert as_user(liaison).post(url + "respond/", {"body": "x"}).status_code == 403
    assert as_user(provider_user).post(url + "accept/").status_code == 403
    assert as_user(provider_user).post(url + "respond/", {"body": "Confirmed."}).json()["status"] == "answered"
    assert as_user(liaison).post(url + "reopen/", {"body": ""}).json()["code"] == "body_required"
    assert as_user(liaison).post(url + "reopen/", {"body": "More please."}).json()["status"] == "open"
    as_user(provider_user).post(url + "respond/", {"body": "Here."})
    closed = as_user(liaison).post(url + "accept/", {"body": "Thanks."})
    assert closed.json()["status"] == "closed"
    assert [m["kind"] for m in as_user(provider_user).get(url).json()["messages"]] == [
        "raised", "response", "reopened", "response", "accepted",
    ]  # fmt: skip
    listed = as_user(liaison).get("/api/v1/queries/", {"status": "closed", "collection": "C23051"}).json()
    assert [q["id"] for q in listed["results"]] == [query["id"]]
    assert as_user(liaison).post(url + "accept/").json()["code"] == "wrong_state"


def test_a_query_on_no_record_is_refused_as_on_the_web(submission, liaison):
    add_student_record(submission, "9811681234562")
    create = {"submission": submission.pk, "subject": "This record", "body": "Please check."}
    for husid, numhus, code in (
        ("<b>x</b>", "", "invalid_husid"),
        ("98116812345620", "", "invalid_husid"),  # the service's refusal, not a field length error
        ("9811681234562", "=1+1", "record_not_found"),
        ("", "1", "husid_required"),
    ):
        response = as_user(liaison).post("/api/v1/queries/", {**create, "husid": husid, "numhus": numhus})
        assert response.status_code == 400 and response.json()["code"] == code, (husid, response.json())
    refused = as_user(liaison).post("/api/v1/queries/", {**create, "husid": "x"}).json()
    assert refused["detail"] == "A HUSID is 13 digits: copy it from the record, or leave it empty."  # the web's words
    assert not Query.objects.exists()


def test_a_query_on_a_submission_id_no_database_could_hold_is_400(submission, liaison):
    create = {"subject": "Check", "body": "Please check."}
    for pk in (100000000000000000000, 2**63, 0):
        response = as_user(liaison).post("/api/v1/queries/", {**create, "submission": pk}, format="json")
        assert response.status_code == 400, (pk, response.content)
        assert "from 1 to 9223372036854775807" in response.json()["submission"][0]
    assert as_user(liaison).post("/api/v1/queries/", {**create, "submission": 2**63 - 1}).status_code == 404
    assert not Query.objects.exists()


def test_sign_off_and_return(provider, collection, submission, approver, provider_user, liaison, other_user):
    url = f"/api/v1/collections/{collection.reference}/providers/{provider.ukprn}/"
    assert as_user(liaison).post(url + "sign-off/").json()["code"] == "not_approved"
    services.submission_approve(submission=submission, user=approver)
    assert as_user(approver).post(url + "sign-off/").status_code == 403
    assert as_user(other_user).post(url + "sign-off/").status_code == 404
    assert as_user(liaison).post(f"/api/v1/collections/C99999/providers/{provider.ukprn}/sign-off/").status_code == 404
    signed = as_user(liaison).post(url + "sign-off/")
    assert signed.status_code == 201 and signed.json()["submission"] == submission.pk
    returned = as_user(liaison).post(url + "return/", {"subject": "Returned", "body": "Leavers look wrong."})
    assert returned.status_code == 201 and returned.json()["kind"] == "return"
    assert Query.objects.get().blocks_approval
    assert as_user(provider_user).post(url + "return/", {"subject": "s", "body": "b"}).status_code == 403


def test_grid(provider, other_provider, collection, submission, liaison, provider_user):
    grid = as_user(liaison).get("/api/v1/review/grid/").json()
    assert grid["collections"] == ["C23051"]
    assert {row["ukprn"]: row["cells"][0]["state"] for row in grid["rows"]} == {
        provider.ukprn: "passed",
        other_provider.ukprn: "none",
    }
    assert grid["counts"]["passed"] == 1
    own = as_user(provider_user).get("/api/v1/review/grid/", {"state": "passed"}).json()
    assert [row["ukprn"] for row in own["rows"]] == [provider.ukprn]
    assert own["rows"][0]["cells"][0]["latest_submission"] == submission.pk
