"""Regression tests for defects found in review of review/ and audit/ (one test per fix)."""

import csv
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.templatetags.portal_tags import uk_datetime_text
from review import services

from .factories import CollectionFactory
from .review_helpers import make_submission


@pytest.mark.parametrize("target", ["/\\evil.example/", "/\\/evil.example/", "//evil.example/", "https://evil.example/"])
def test_next_after_a_liaison_action_is_never_another_site(client, provider, approver, liaison, collection, target):
    submission = make_submission(provider, collection)
    services.submission_approve(submission=submission, user=approver)
    client.force_login(liaison)
    response = client.post(
        reverse("collection_return", args=[provider.ukprn, collection.reference]),
        {"subject": "Please re-check", "body": "Totals look wrong.", "next": target},
    )
    assert response.status_code == 302 and response["Location"] == reverse("liaison_grid")


def test_next_after_a_liaison_action_keeps_our_own_path(client, provider, approver, liaison, collection):
    submission = make_submission(provider, collection)
    services.submission_approve(submission=submission, user=approver)
    client.force_login(liaison)
    detail = reverse("submission_detail", args=[submission.pk]) + "?tab=approval"
    response = client.post(
        reverse("collection_sign_off", args=[provider.ukprn, collection.reference]), {"next": detail}
    )
    assert response.status_code == 302 and response["Location"] == detail


@pytest.fixture
def final_updates(db):
    """In final updates: the approval deadline has passed, the collection closes in a week."""
    now = timezone.now()
    return CollectionFactory(
        reference="C23052",
        opens=now - timedelta(days=60),
        approval_deadline=now - timedelta(days=1),
        final_updates_deadline=now + timedelta(days=7),
    )


def test_grid_csv_writes_uk_dates(client, provider, approver, liaison, collection):
    approval = services.submission_approve(submission=make_submission(provider, collection), user=approver)
    sign_off = services.collection_sign_off(provider=provider, collection=collection, user=liaison)
    client.force_login(liaison)
    rows = list(csv.reader(b"".join(client.get(reverse("liaison_grid_csv")).streaming_content).decode().splitlines()))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Approved at"] == uk_datetime_text(approval.approved_at)  # "21 Jul 2024, 17:00"
    assert row["Signed off at"] == uk_datetime_text(sign_off.signed_off_at)


def test_a_late_approval_is_flagged_in_the_grid_after_sign_off_too(client, provider, approver, liaison, final_updates):
    services.submission_approve(submission=make_submission(provider, final_updates), user=approver)
    client.force_login(liaison)
    cell = f'id="cell-{provider.ukprn}-{final_updates.reference}"'
    page = client.get(reverse("liaison_grid")).content.decode()
    assert f'{cell} data-state="approved_late"' in page
    services.collection_sign_off(provider=provider, collection=final_updates, user=liaison)
    page = client.get(reverse("liaison_grid")).content.decode()
    assert f'{cell} data-state="signed_off" data-late="yes"' in page
    assert "Approved late" in page.split(cell)[1].split("</td>")[0]
    make_submission(provider, final_updates)  # a newer upload: updated since a late approval
    page = client.get(reverse("liaison_grid")).content.decode()
    assert f'{cell} data-state="updated" data-late="yes"' in page
