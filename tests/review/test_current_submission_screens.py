"""The submission page acts only on the provider's current upload (issue 12, items 2 and 4): an
older or rejected upload says which submission is current and offers no action; the Approve
button is disabled while anything blocks approval, and a forced post is still refused."""

import pytest
from django.urls import reverse

from collections_app.models import SubmissionStatus
from review import services

from ..review_helpers import add_warnings, make_submission, temporary_rule


@pytest.fixture
def tst1():
    with temporary_rule("TST1", percent=5) as registered:
        yield registered


def _page(client, submission) -> str:
    response = client.get(reverse("submission_detail", args=[submission.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_superseded_submission_names_the_current_one_and_offers_no_action(
    client, provider, approver, collection, tst1
):
    old = make_submission(provider, collection, status=SubmissionStatus.SUPERSEDED)
    add_warnings(old, "TST1", 8)
    current = make_submission(provider, collection)
    client.force_login(approver)

    page = _page(client, old)
    assert 'id="not-current"' in page
    assert (
        f'Superseded by <a href="{reverse("submission_detail", args=[current.pk])}">submission {current.pk}</a>' in page
    )
    assert "Over tolerance: blocks approval" not in page and "Over tolerance" in page
    assert "Request an override" not in page and "approve-button" not in page
    assert "Review and confirm these" not in page
    # The current one has no banner and keeps its actions.
    page = _page(client, current)
    assert 'id="not-current"' not in page and 'id="approve-button"' in page


def test_a_rejected_upload_does_not_sit_beside_another_submissions_state(client, provider, approver, collection):
    rejected = make_submission(provider, collection, status=SubmissionStatus.REJECTED)
    current = make_submission(provider, collection)
    client.force_login(approver)
    page = _page(client, rejected)
    assert "Superseded by" in page and f"submission {current.pk}</a>" in page
    assert "Only a submission with no errors can be approved" not in page


def test_a_rejected_upload_after_the_current_one_says_it_is_not_current(
    client, provider, approver, liaison, collection
):
    approved = make_submission(provider, collection)
    services.submission_approve(submission=approved, user=approver)
    rejected = make_submission(provider, collection, status=SubmissionStatus.REJECTED)
    client.force_login(liaison)
    page = _page(client, rejected)
    assert "Not the current submission:" in page
    assert (
        f'<a href="{reverse("submission_detail", args=[approved.pk])}">submission {approved.pk}</a> is the current one'
        in page
    )
    assert "sign-off-actions" not in page and "Return with a query" not in page
    # Liaison still sign off from the current (approved) submission.
    assert 'id="sign-off-button"' in _page(client, approved)


def test_approve_is_disabled_while_blockers_are_listed_and_a_forced_post_is_refused(
    client, provider, approver, collection, tst1
):
    submission = make_submission(provider, collection)
    add_warnings(submission, "TST1", 8)
    client.force_login(approver)
    page = _page(client, submission)
    assert '<ul id="approval-blockers-list">' in page
    assert 'id="approve-button" disabled aria-describedby="approval-blockers-list"' in page
    response = client.post(reverse("submission_approve", args=[submission.pk]), follow=True)
    assert any("Check TST1" in str(m) for m in response.context["messages"])
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.PASSED


def test_approve_is_enabled_when_nothing_blocks_it(client, provider, approver, collection):
    submission = make_submission(provider, collection)
    client.force_login(approver)
    page = _page(client, submission)
    assert f'id="approve-button">Approve submission {submission.pk}<' in page
