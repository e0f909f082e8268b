"""The dashboard card tells the approved data from the latest upload (issue 12, item 3), in a
fixed number of queries, and offers no upload for a collection whose kind the portal cannot
process yet (item 8)."""

import re

import pytest
from django.urls import reverse

from collections_app import kinds
from collections_app.models import CollectionKind, SubmissionStatus
from core.formatting import uk_datetime_text
from review import services

from .. import factories
from ..review_helpers import make_submission


def _card(page: str, reference: str) -> str:
    """The dashboard card of one collection."""
    match = re.search(
        rf'<section class="card collection-card" aria-labelledby="collection-{reference}">(.*?)</section>', page, re.S
    )
    assert match, f"no card for {reference}"
    return match.group(1)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def test_a_rejected_upload_after_approval_is_the_latest_upload_not_the_approved_data(
    client, provider, approver, collection
):
    approved = make_submission(provider, collection)
    approval = services.submission_approve(submission=approved, user=approver)
    later = make_submission(provider, collection, status=SubmissionStatus.REJECTED)
    client.force_login(approver)
    card = _text(_card(client.get(reverse("dashboard")).content.decode(), collection.reference))
    approved_at = uk_datetime_text(approval.approved_at)
    assert f"Approved data: submission {approved.pk} for {collection.reference} (approved {approved_at})" in card
    assert f"Latest upload: submission {later.pk} for {collection.reference}" in card
    assert "Rejected" in card and "Current submission" not in card


def test_the_latest_upload_says_when_it_is_the_approved_data(client, provider, approver, collection):
    approved = make_submission(provider, collection)
    services.submission_approve(submission=approved, user=approver)
    client.force_login(approver)
    card = _text(_card(client.get(reverse("dashboard")).content.decode(), collection.reference))
    assert f"Latest upload: submission {approved.pk} for {collection.reference}" in card
    assert "the approved data" in card


def test_nothing_approved_or_uploaded_says_so(client, provider, provider_user, collection):
    client.force_login(provider_user)
    card = _text(_card(client.get(reverse("dashboard")).content.decode(), collection.reference))
    assert "Approved data: none yet" in card and "Latest upload: nothing uploaded yet" in card


def test_dashboard_queries_stay_fixed_with_approvals(client, provider, approver, django_assert_max_num_queries):
    for n in range(4):
        collection = factories.CollectionFactory(reference=f"C2{n}051", reporting_year=2020 + n)
        services.submission_approve(submission=make_submission(provider, collection), user=approver)
        make_submission(provider, collection, status=SubmissionStatus.REJECTED)
    client.force_login(approver)
    client.get(reverse("dashboard"))
    with django_assert_max_num_queries(12):  # one of them the second-factor check
        response = client.get(reverse("dashboard"))
    assert response.content.decode().count("Approved data:</strong>") == 4


@pytest.fixture
def contact_details(db, monkeypatch):
    """An open collection of a kind with no parser registered (until the contact details kind lands,
    contact details; the registration is removed for the test either way)."""
    monkeypatch.delitem(kinds._KINDS, CollectionKind.CONTACT_DETAILS, raising=False)
    monkeypatch.delitem(kinds._STAGES, CollectionKind.CONTACT_DETAILS, raising=False)
    return factories.CollectionFactory(
        reference="C23071", name="Graduate Outcomes contacts 2023/24", kind=CollectionKind.CONTACT_DETAILS
    )


def test_a_collection_of_an_unprocessable_kind_says_so_and_offers_no_upload(
    client, provider, provider_user, collection, contact_details
):
    client.force_login(provider_user)
    page = client.get(reverse("collection_detail", args=[contact_details.reference])).content.decode()
    assert 'id="kind-not-supported"' in page
    assert "Graduate Outcomes contact details files cannot be processed by the portal yet" in page
    assert 'id="upload-form"' not in page and "Upload a file" not in page

    dashboard = client.get(reverse("dashboard")).content.decode()
    card = _text(_card(dashboard, contact_details.reference))
    assert "cannot be processed by the portal yet" in card
    assert "Upload a file" not in card and f"View collection {contact_details.reference}" in card
    # A processable collection still offers its upload.
    assert f"Upload a file for {collection.reference}" in _text(_card(dashboard, collection.reference))
    page = client.get(reverse("collection_detail", args=[collection.reference])).content.decode()
    assert 'id="upload-form"' in page and 'id="kind-not-supported"' not in page


def test_liaison_see_the_unprocessable_kind_too(client, provider, liaison, contact_details):
    client.force_login(liaison)
    page = client.get(
        reverse("collection_detail", args=[contact_details.reference]), {"provider": provider.ukprn}
    ).content.decode()
    assert 'id="kind-not-supported"' in page and 'id="upload-by-provider"' not in page
