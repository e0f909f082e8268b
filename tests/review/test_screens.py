"""Review screens: the approval panel, overrides, queries, sign-off, the liaison grid and the
dashboards; refusals are messages (never 500s) and another provider's things are 404 or absent."""

import pytest
from django.urls import reverse

from collections_app.models import SubmissionStatus
from review import selectors, services
from review.models import OverrideRequest, Query, QueryStatus

from ..review_helpers import add_warnings, make_submission, temporary_rule
from .records import add_student_record


@pytest.fixture
def tst1():
    with temporary_rule("TST1", percent=5) as registered:
        yield registered


def _page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_approval_panel_refuses_with_sentences_then_override_then_approve(
    client, provider, approver, liaison, collection, tst1
):
    submission = make_submission(provider, collection, instances=100)
    add_warnings(submission, "TST1", 8)
    url = reverse("submission_detail", args=[submission.pk])

    client.force_login(approver)
    page = _page(client, url)
    assert "This submission cannot be approved yet" in page
    assert "Check TST1: 8 outstanding warnings" in page
    assert "Over tolerance: blocks approval" in page and "Request an override" in page
    # Approving anyway is refused with the reason as a message, not an error page.
    response = client.post(reverse("submission_approve", args=[submission.pk]), follow=True)
    assert response.status_code == 200
    assert any("Check TST1" in m for m in _messages(response))
    # Too low a percentage is refused with what to ask for.
    response = client.post(
        reverse("override_request", args=[submission.pk]),
        {"code": "TST1", "percent": "2", "justification": "Known reporting change."},
        follow=True,
    )
    assert any("ask for at least 8.00%" in m for m in _messages(response))
    response = client.post(
        reverse("override_request", args=[submission.pk]),
        {"code": "TST1", "percent": "8", "justification": "Known reporting change."},
        follow=True,
    )
    assert any("Override for check TST1 requested" in m for m in _messages(response))
    assert "waiting for Liaison&#x27;s decision" in response.content.decode()

    client.force_login(liaison)
    override = OverrideRequest.objects.get()
    assert "Known reporting change." in _page(client, reverse("override_list"))
    # Refusing needs a message; the refusal is explained.
    response = client.post(reverse("override_decide", args=[override.pk]), {"decision": "refuse"}, follow=True)
    assert any("Say why the override is refused" in m for m in _messages(response))
    response = client.post(
        reverse("override_decide", args=[override.pk]),
        {"decision": "approve", "message": "Fine.", "next": url},
    )
    assert response.status_code == 302 and response["Location"] == url
    assert "Covered by an approved override" in _page(client, url)

    client.force_login(approver)
    response = client.post(reverse("submission_approve", args=[submission.pk]), follow=True)
    assert any("is approved" in m for m in _messages(response))
    page = response.content.decode()
    assert 'id="review-state">Approved<' in page and "This submission is the approved data" in page


def test_provider_user_is_told_an_approver_must_approve(client, provider, provider_user, collection):
    submission = make_submission(provider, collection)
    client.force_login(provider_user)
    page = _page(client, reverse("submission_detail", args=[submission.pk]))
    assert "Only a provider approver can approve" in page and "approve-button" not in page
    response = client.post(reverse("submission_approve", args=[submission.pk]), follow=True)
    assert response.status_code == 200
    assert any("Only an approver" in m for m in _messages(response))


def test_query_cycle_through_the_screens(client, provider, provider_user, approver, liaison, collection):
    submission = make_submission(provider, collection)
    add_student_record(submission, "1234567890123")
    client.force_login(liaison)
    response = client.post(
        reverse("query_raise", args=[submission.pk]),
        {
            "subject": "Too many part-time leavers",
            "body": "Please check MODE for these students.",
            "rule_code": "SR.DATE.01",
            "husid": "1234567890123",
            "blocks_approval": "on",
        },
    )
    query = Query.objects.get()
    assert response["Location"] == reverse("query_detail", args=[query.pk])
    assert query.blocks_approval and query.rule_code == "SR.DATE.01" and query.husid == "1234567890123"
    # Liaison filters the list by provider and status.
    assert "Too many part-time leavers" in _page(client, reverse("query_list"), provider=provider.ukprn, status="open")
    assert "Too many part-time leavers" not in _page(client, reverse("query_list"), status="closed")

    client.force_login(approver)
    page = _page(client, reverse("submission_detail", args=[submission.pk]))
    assert "Answer the query &quot;Too many part-time leavers&quot; before approving." in page
    assert "Waiting for you: 1" in _page(client, reverse("dashboard"))
    thread = _page(client, reverse("query_detail", args=[query.pk]))
    assert "Please check MODE for these students." in thread and "respond-form" in thread
    assert "accept-form" not in thread
    # An empty response is refused with what to do.
    response = client.post(reverse("query_respond", args=[query.pk]), {"body": " "}, follow=True)
    assert any("Write your response" in m for m in _messages(response))
    client.post(reverse("query_respond", args=[query.pk]), {"body": "Corrected in the next upload."})
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED
    assert selectors.approval_blockers(submission=submission) == []

    client.force_login(liaison)
    client.post(reverse("query_reopen", args=[query.pk]), {"body": "Still two records wrong."})
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN
    client.force_login(provider_user)
    client.post(reverse("query_respond", args=[query.pk]), {"body": "Both fixed."})
    client.force_login(liaison)
    client.post(reverse("query_accept", args=[query.pk]), {"body": ""})
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    thread = _page(client, reverse("query_detail", args=[query.pk]))
    for text in ("Please check MODE", "Corrected in the next upload.", "Still two records wrong.", "Both fixed."):
        assert text in thread


def test_a_query_on_no_record_of_the_submission_is_refused_with_a_message(client, provider, liaison, collection):
    submission = make_submission(provider, collection)
    add_student_record(submission, "9811681234562", "1")
    client.force_login(liaison)
    url = reverse("query_raise", args=[submission.pk])
    form = {"subject": "This record", "body": "Please check."}
    response = client.post(url, {**form, "husid": "<b>x</b>", "numhus": "=1+1"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("submission_detail", args=[submission.pk])
    assert _messages(response) == ["A HUSID is 13 digits: copy it from the record, or leave it empty."]
    response = client.post(url, {**form, "husid": "9811681234562", "numhus": "=1+1"}, follow=True)
    assert _messages(response) == [
        f"Submission {submission.pk} has no record with HUSID 9811681234562 and NUMHUS =1+1: check the record, "
        "or leave HUSID and NUMHUS empty to ask about the whole submission."
    ]
    assert not Query.objects.exists()
    client.post(url, {**form, "husid": "9811681234562", "numhus": "1"})
    assert Query.objects.get().numhus == "1"


def test_another_providers_things_are_not_found(client, provider, other_user, liaison, approver, collection):
    submission = make_submission(provider, collection)
    query = services.query_raise(submission=submission, user=liaison, subject="Ours only", body="Check.")
    client.force_login(other_user)
    assert client.get(reverse("submission_detail", args=[submission.pk])).status_code == 404
    assert client.get(reverse("query_detail", args=[query.pk])).status_code == 404
    assert client.post(reverse("query_respond", args=[query.pk]), {"body": "x"}).status_code == 404
    assert client.post(reverse("submission_approve", args=[submission.pk])).status_code == 404
    assert client.post(reverse("override_request", args=[submission.pk]), {"code": "X"}).status_code == 404
    assert "Ours only" not in _page(client, reverse("query_list"), status="all")
    assert "Ours only" not in _page(client, reverse("dashboard"))
    # Liaison-only screens and actions.
    assert client.get(reverse("liaison_grid")).status_code == 403
    assert client.get(reverse("liaison_grid_csv")).status_code == 403
    assert client.get(reverse("override_list")).status_code == 403
    assert client.post(reverse("query_raise", args=[submission.pk]), {"subject": "s", "body": "b"}).status_code == 404
    assert (
        client.post(reverse("collection_sign_off", args=[submission.provider.ukprn, collection.reference])).status_code
        == 403
    )
    # The provider's own approver cannot accept a query or sign off either (messages, not errors).
    client.force_login(approver)
    response = client.post(reverse("query_accept", args=[query.pk]), follow=True)
    assert any("Only Liaison" in m for m in _messages(response))
    assert Query.objects.get().status == QueryStatus.OPEN


def test_grid_states_counts_links_sorting_and_csv(client, provider, other_provider, approver, liaison, collection):
    passed = make_submission(provider, collection)
    failed = make_submission(other_provider, collection, status=SubmissionStatus.FAILED)
    client.force_login(liaison)
    page = _page(client, reverse("liaison_grid"))
    assert f'id="cell-{provider.ukprn}-{collection.reference}" data-state="passed"' in page
    assert f'href="{reverse("submission_detail", args=[passed.pk])}"' in page
    assert f'href="{reverse("submission_detail", args=[failed.pk])}"' in page
    # The collection's summary row counts its cells by state (states with none are left out).
    ref = collection.reference
    assert (
        f'data-state-count="{ref}-passed">Passed: 1<' in page and f'data-state-count="{ref}-failed">Failed: 1<' in page
    )
    assert f'data-state-count="{ref}-signed_off"' not in page
    # Filter by state, sort by a collection's column.
    page = _page(client, reverse("liaison_grid"), state="failed")
    assert other_provider.name in page and provider.name not in page
    page = _page(client, reverse("liaison_grid"), sort=f"-state-{collection.reference}")
    assert page.index(provider.name) < page.index(other_provider.name)  # passed after failed, reversed

    services.submission_approve(submission=passed, user=approver)
    client.post(reverse("collection_sign_off", args=[provider.ukprn, collection.reference]))
    page = _page(client, reverse("liaison_grid"))
    assert f'id="cell-{provider.ukprn}-{collection.reference}" data-state="signed_off"' in page
    response = client.get(reverse("liaison_grid_csv"))
    csv = b"".join(response.streaming_content).decode()
    assert f"{provider.ukprn},{provider.name},{collection.reference},Signed off" in csv
    assert f"{other_provider.ukprn},{other_provider.name},{collection.reference},Failed,Failed" in csv


def test_sign_off_refused_while_a_query_is_open_is_a_message(client, provider, approver, liaison, collection):
    submission = make_submission(provider, collection)
    services.submission_approve(submission=submission, user=approver)
    services.query_raise(submission=submission, user=liaison, subject="One more thing", body="Check.")
    client.force_login(liaison)
    detail = reverse("submission_detail", args=[submission.pk])
    response = client.post(
        reverse("collection_sign_off", args=[provider.ukprn, collection.reference]), {"next": detail}, follow=True
    )
    assert response.redirect_chain[-1][0] == detail
    assert any("still open" in m for m in _messages(response))
    # Return instead: the provider must answer before approving again.
    client.post(
        reverse("collection_return", args=[provider.ukprn, collection.reference]),
        {"subject": "Please re-check", "body": "Totals look wrong.", "next": "//evil.example/"},
    )
    assert Query.objects.filter(kind="return", blocks_approval=True).exists()


def test_provider_dashboard_says_when_reapproval_is_needed(client, provider, approver, collection):
    approved = make_submission(provider, collection)
    services.submission_approve(submission=approved, user=approver)
    client.force_login(approver)
    assert "state-approved" in _page(client, reverse("dashboard"))
    make_submission(provider, collection)  # a newer passed upload
    page = _page(client, reverse("dashboard"))
    assert "Updated since approval" in page and "re-approval is needed" in page


def test_liaison_home_shows_what_is_waiting(client, provider, provider_user, liaison, collection):
    submission = make_submission(provider, collection)
    query = services.query_raise(submission=submission, user=liaison, subject="Q", body="B")
    services.query_respond(query=query, user=provider_user, body="A")
    client.force_login(liaison)
    page = _page(client, reverse("liaison_home"))
    assert "1 query answered by providers" in page and reverse("liaison_grid") in page
