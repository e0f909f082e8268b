"""The audit log screen, its CSV and GET /api/v1/audit/: filters, sorting and provider isolation."""

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine
from django.urls import reverse

from core.audit import audit_record

from ..factories import CollectionFactory, SubmissionFactory

UK = ZoneInfo("Europe/London")


def _events(provider, other_provider, liaison, provider_user, other_user):
    collection = CollectionFactory()
    ours = SubmissionFactory(provider=provider, collection=collection, uploaded_by=provider_user)
    theirs = SubmissionFactory(provider=other_provider, collection=collection, uploaded_by=other_user)
    with time_machine.travel(datetime(2024, 7, 1, 9, 0, tzinfo=UK)):
        audit_record(actor=provider_user, action="submission.uploaded", summary="Ours uploaded.", submission=ours)
    with time_machine.travel(datetime(2024, 7, 2, 9, 0, tzinfo=UK)):
        audit_record(actor=None, action="submission.passed", summary="Ours passed.", submission=ours)
        audit_record(actor=other_user, action="submission.uploaded", summary="Theirs uploaded.", submission=theirs)
    with time_machine.travel(datetime(2024, 7, 3, 9, 0, tzinfo=UK)):
        audit_record(
            actor=liaison, action="collection.deadline_changed", summary="Deadline moved.", collection=collection
        )
    return ours, theirs


def test_provider_sees_only_their_own_events(client, provider, other_provider, liaison, provider_user, other_user):
    _events(provider, other_provider, liaison, provider_user, other_user)
    client.force_login(provider_user)
    page = client.get(reverse("audit_log")).content.decode()
    assert "Ours uploaded." in page and "Ours passed." in page
    assert "Theirs uploaded." not in page and "Deadline moved." not in page
    # Naming the other provider filters within their scope: nothing (never their own events as the other's).
    page = client.get(reverse("audit_log"), {"provider": other_provider.ukprn}).content.decode()
    assert "Theirs uploaded." not in page and "Ours uploaded." not in page and "No events match" in page
    csv = b"".join(client.get(reverse("audit_log_csv")).streaming_content).decode()
    assert "Ours uploaded." in csv and "Theirs uploaded." not in csv and "Deadline moved." not in csv
    api = client.get("/api/v1/audit/").json()
    assert {e["summary"] for e in api["results"]} == {"Ours uploaded.", "Ours passed."}


def test_liaison_sees_all_and_filters(client, provider, other_provider, liaison, provider_user, other_user):
    ours, _ = _events(provider, other_provider, liaison, provider_user, other_user)
    client.force_login(liaison)
    page = client.get(reverse("audit_log")).content.decode()
    for summary in ("Ours uploaded.", "Ours passed.", "Theirs uploaded.", "Deadline moved."):
        assert summary in page
    # Newest first by default, oldest first on request.
    assert page.index("Deadline moved.") < page.index("Ours uploaded.")
    page = client.get(reverse("audit_log"), {"sort": "at"}).content.decode()
    assert page.index("Ours uploaded.") < page.index("Deadline moved.")

    def summaries(**params):
        return {e["summary"] for e in client.get("/api/v1/audit/", params).json()["results"]}

    assert summaries(provider=other_provider.ukprn) == {"Theirs uploaded."}
    assert summaries(action="submission.uploaded") == {"Ours uploaded.", "Theirs uploaded."}
    assert summaries(action="submission.") == {"Ours uploaded.", "Ours passed.", "Theirs uploaded."}
    assert summaries(actor="system") == {"Ours passed."}
    assert summaries(actor=liaison.username) == {"Deadline moved."}
    assert summaries(**{"from": "2024-07-02", "to": "02/07/2024"}) == {"Ours passed.", "Theirs uploaded."}
    assert summaries(submission=ours.pk) == {"Ours uploaded.", "Ours passed."}

    response = client.get(reverse("audit_log_csv"), {"provider": provider.ukprn})
    assert response["Content-Type"].startswith("text/csv")
    csv = b"".join(response.streaming_content).decode()
    assert "1 Jul 2024, 09:00" in csv and "Theirs uploaded." not in csv


def test_audit_log_needs_sign_in(client):
    assert client.get(reverse("audit_log")).status_code == 302
    assert client.get("/api/v1/audit/").status_code in (401, 403)


def test_provider_staff_filtering_by_another_provider_get_nothing_not_their_own(
    client, provider, other_provider, liaison, provider_user, other_user
):
    _events(provider, other_provider, liaison, provider_user, other_user)
    client.force_login(provider_user)
    response = client.get("/api/v1/audit/", {"provider": other_provider.ukprn})
    assert response.status_code == 200 and response.json()["count"] == 0 and response.json()["results"] == []
    own = client.get("/api/v1/audit/", {"provider": provider.ukprn}).json()
    assert {e["summary"] for e in own["results"]} == {"Ours uploaded.", "Ours passed."}


def test_api_refuses_malformed_filters_with_400(client, provider, other_provider, liaison, provider_user, other_user):
    """They were ignored: the whole log came back as if filtered."""
    ours, _ = _events(provider, other_provider, liaison, provider_user, other_user)
    for user in (provider_user, liaison):
        client.force_login(user)
        for name, value, says in (
            ("submission", "100000000000000000000", "not a submission id"),  # was a 500 (OverflowError)
            ("submission", str(2**63), "not a submission id"),
            ("submission", "abc", "not a submission id"),
            ("submission", "0", "not a submission id"),
            ("from", "garbage", "not a date"),
            ("to", "2020-13-01", "not a date"),
            ("to", "31/02/2024", "not a date"),
            ("from", "1/1/100000000000000000000", "not a date"),
            ("sort", "bogus", "not a sort"),
            ("provider", "ukprn", "not a UKPRN"),
        ):
            response = client.get("/api/v1/audit/", {name: value})
            assert response.status_code == 400, (name, value, response.content)
            assert says in response.json()[name][0]
        both = client.get("/api/v1/audit/", {"from": "garbage", "sort": "bogus"}).json()
        assert set(both) == {"from", "sort"}
        assert client.get("/api/v1/audit/", {"submission": str(2**63 - 1)}).json()["count"] == 0
        assert client.get("/api/v1/audit/", {"submission": ours.pk, "sort": "-action"}).json()["count"] == 2


def test_screen_says_which_filters_it_could_not_apply(
    client, provider, other_provider, liaison, provider_user, other_user
):
    _events(provider, other_provider, liaison, provider_user, other_user)
    client.force_login(liaison)
    response = client.get(reverse("audit_log"), {"submission": "100000000000000000000", "from": "garbage"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Not filtered by this: “100000000000000000000” is not a submission id" in page
    assert "Not filtered by this: “garbage” is not a date" in page
    assert "Ours uploaded." in page  # the filters that could be applied were (none here)
    response = client.get(reverse("audit_log_csv"), {"submission": "100000000000000000000"})
    assert response.status_code == 200 and "Theirs uploaded." in b"".join(response.streaming_content).decode()
