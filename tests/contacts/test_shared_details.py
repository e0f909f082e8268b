"""Shared contact details: grouping, reasons (record, remove, refusals, audit, carried forward),
the page (provider, liaison, filters, CSV) and the API."""

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from collections_app import kinds
from collections_app.models import SubmissionStatus
from contacts import selectors, services
from contacts.models import SharedDetailReason
from core.errors import ActionRefused

from ..factories import SubmissionFactory, UserFactory
from .helpers import contact_collection, contact_kind_registered, contact_submission, graduate

TWIN_A, TWIN_B, SOLO, OTHER = "1111111111111", "2222222222222", "3333333333333", "4444444444444"


def _graduates():
    return [
        graduate(TWIN_A, EMAIL=["Family@Example.com", "twin.a@example.com"], UKTEL=["01242 123456"]),
        graduate(TWIN_B, EMAIL=["family@example.com "], UKMOB=["07911 123456"], UKTEL=["+44 1242 123456"]),
        graduate(SOLO, EMAIL=["solo@example.com"], UKMOB=["07911123456"]),
        # The same text as twin A's email, but as a phone it means nothing: never grouped with emails.
        graduate(OTHER, "2", EMAIL=["someone@example.com"]),
    ]


@pytest.fixture
def contacts(provider, provider_user):
    collection = contact_collection()
    submission = contact_submission(provider, collection, provider_user, _graduates())
    return collection, submission


def test_details_given_for_two_or_more_graduates_are_grouped_by_detail(contacts):
    collection, submission = contacts
    groups = selectors.shared_details(submission=submission)
    assert [(g.family, g.normalised, g.graduate_count) for g in groups] == [
        ("email", "family@example.com", 2),
        ("phone", "+441242123456", 2),
        ("phone", "+447911123456", 2),
    ]
    email = groups[0]
    # Each graduate with the element and the value exactly as given.
    assert [(g.husid, g.element, g.value) for g in email.graduates] == [
        (TWIN_A, "EMAIL", "Family@Example.com"),
        (TWIN_B, "EMAIL", "family@example.com "),
    ]
    landline = groups[1]
    assert [(g.husid, g.element, g.value) for g in landline.graduates] == [
        (TWIN_A, "UKTEL", "01242 123456"),
        (TWIN_B, "UKTEL", "+44 1242 123456"),
    ]
    assert {g.element for g in groups[2].graduates} == {"UKMOB"}
    assert [g.normalised for g in selectors.shared_details(submission=submission, family="phone")] == [
        "+441242123456",
        "+447911123456",
    ]


def test_the_current_submission_is_the_latest_completed_one(provider, provider_user, contacts):
    collection, first = contacts
    assert selectors.current_contact_submission(provider=provider, collection=collection) == first
    SubmissionFactory(provider=provider, collection=collection, uploaded_by=provider_user, status="rejected")
    SubmissionFactory(provider=provider, collection=collection, uploaded_by=provider_user, status="queued")
    assert selectors.current_contact_submission(provider=provider, collection=collection) == first
    later = contact_submission(provider, collection, provider_user, _graduates()[:1], status="passed")
    assert selectors.current_contact_submission(provider=provider, collection=collection) == later


def _record(provider, collection, user, normalised="family@example.com", family="email", **kw):
    return services.shared_reason_record(
        provider=provider,
        collection=collection,
        family=family,
        normalised=normalised,
        reason=kw.get("reason", SharedDetailReason.Reason.FAMILY_EMAIL),
        note=kw.get("note", "Twins"),
        user=user,
    )


def test_a_reason_is_recorded_audited_and_shown_with_its_detail(provider, provider_user, contacts):
    collection, submission = contacts
    reason = _record(provider, collection, provider_user)
    assert (reason.family, reason.normalised, reason.recorded_by) == ("email", "family@example.com", provider_user)
    event = AuditEvent.objects.get(action="shared_detail.reason_recorded")
    assert (event.provider_id, event.collection_id, event.submission_id) == (provider.pk, collection.pk, submission.pk)
    assert "family@example.com" in event.summary
    groups = selectors.shared_details(submission=submission)
    assert [g.reason is not None for g in groups] == [True, False, False]
    assert [g.normalised for g in selectors.shared_details(submission=submission, has_reason=False)] == [
        "+441242123456",
        "+447911123456",
    ]
    # Recording again changes it: one reason per detail.
    _record(provider, collection, provider_user, reason="other", note="Same parent's address")
    assert SharedDetailReason.objects.get().note == "Same parent's address"
    assert AuditEvent.objects.filter(action="shared_detail.reason_changed").count() == 1


def test_a_reason_is_removed_and_audited(provider, provider_user, contacts):
    collection, submission = contacts
    _record(provider, collection, provider_user)
    services.shared_reason_remove(
        provider=provider, collection=collection, family="email", normalised="family@example.com", user=provider_user
    )
    assert not SharedDetailReason.objects.exists()
    assert AuditEvent.objects.filter(action="shared_detail.reason_removed").count() == 1
    with pytest.raises(ActionRefused) as refused:
        services.shared_reason_remove(
            provider=provider,
            collection=collection,
            family="email",
            normalised="family@example.com",
            user=provider_user,
        )
    assert refused.value.code == "no_reason"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"normalised": "solo@example.com"}, "not_shared"),  # given for one graduate only
        ({"normalised": "family@example.com", "family": "phone"}, "not_shared"),  # shared as an email, not a phone
        ({"reason": "other", "note": "  "}, "note_required"),
        ({"reason": "because"}, "invalid_reason"),
        ({"reason": "family_landline"}, "invalid_reason"),  # a landline is no reason for a shared email
        ({"normalised": "+441242123456", "family": "phone", "reason": "family_email"}, "invalid_reason"),
    ],
)
def test_reasons_that_cannot_be_recorded(provider, provider_user, contacts, change, code):
    collection, _ = contacts
    with pytest.raises(ActionRefused) as refused:
        _record(provider, collection, provider_user, **change)
    assert refused.value.code == code
    assert not SharedDetailReason.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="shared_detail").exists()


def test_liaison_and_other_providers_cannot_record_a_reason(provider, contacts, liaison, other_user):
    collection, _ = contacts
    for someone in (liaison, other_user):
        with pytest.raises(ActionRefused) as refused:
            _record(provider, collection, someone)
        assert refused.value.code == "forbidden"
    assert not SharedDetailReason.objects.exists()


def test_a_closed_collection_takes_no_reason(provider, provider_user, contacts):
    collection, _ = contacts
    collection.approval_deadline = timezone.now() - timedelta(minutes=1)
    collection.save()
    with pytest.raises(ActionRefused) as refused:
        _record(provider, collection, provider_user)
    assert refused.value.code == "collection_closed"


def test_reasons_carry_forward_to_later_uploads_by_provider_collection_family_and_value(
    provider, provider_user, other_provider, other_user, contacts
):
    collection, first = contacts
    _record(provider, collection, provider_user, normalised="+441242123456", family="phone", reason="family_landline")
    later = contact_submission(provider, collection, provider_user, _graduates(), status="failed")
    landline = next(g for g in selectors.shared_details(submission=later) if g.normalised == "+441242123456")
    assert landline.reason.get_reason_display() == "Family members sharing a landline"
    # Another provider's upload sharing the same number does not see it.
    theirs = contact_submission(other_provider, collection, other_user, _graduates())
    assert all(g.reason is None for g in selectors.shared_details(submission=theirs))
    # Nor does another cohort (collection) of the same provider.
    cohort_b = contact_collection("C23072", cohort="B")
    elsewhere = contact_submission(provider, cohort_b, provider_user, _graduates())
    assert all(g.reason is None for g in selectors.shared_details(submission=elsewhere))


# -- the page ------------------------------------------------------------------------------------


def test_the_page_lists_shared_details_and_records_a_reason(client, provider_user, contacts):
    collection, submission = contacts
    client.force_login(provider_user)
    url = reverse("shared_details", args=[collection.reference])
    with contact_kind_registered():
        page = client.get(url).content.decode()
    assert "family@example.com" in page and TWIN_B in page and "solo@example.com" not in page
    assert "Re-check with these reasons" in page
    response = client.post(
        url, {"family": "email", "normalised": "family@example.com", "reason": "family_email", "note": "Twins"}
    )
    assert response.status_code == 302 and response["Location"] == url
    assert SharedDetailReason.objects.get().note == "Twins"
    filtered = client.get(url, {"reason": "with"}).content.decode()
    assert "family@example.com" in filtered and "+441242123456" not in filtered
    client.post(url, {"family": "email", "normalised": "family@example.com", "remove": "1"})
    assert not SharedDetailReason.objects.exists()


def _offered(page: str, normalised: str) -> list[str]:
    """The reason values offered in the dropdown of the shared detail `normalised`."""
    section = next(s for s in page.split('<section class="shared-detail"')[1:] if f'value="{normalised}"' in s)
    select = re.search(r'<select id="reason-\d+" name="reason".*?</select>', section, re.S).group(0)
    return re.findall(r'<option value="([^"]+)"', select)


def test_each_kind_of_detail_is_offered_the_reasons_that_fit_it(client, provider, provider_user, contacts):
    collection, _ = contacts
    client.force_login(provider_user)
    page = client.get(reverse("shared_details", args=[collection.reference])).content.decode()
    assert _offered(page, "family@example.com") == ["family_email", "same_person", "other"]
    assert _offered(page, "+441242123456") == ["family_landline", "same_person", "other"]
    refused = client.post(
        reverse("shared_details", args=[collection.reference]),
        {"family": "email", "normalised": "family@example.com", "reason": "family_landline"},
        follow=True,
    )
    message = html.unescape(refused.content.decode())
    assert '"Family members sharing a landline" is not a reason for a shared email: choose one' in message
    assert not SharedDetailReason.objects.exists()


def test_a_reason_recorded_before_reasons_were_per_kind_stays_shown_and_can_be_kept(provider, provider_user, contacts):
    collection, submission = contacts
    SharedDetailReason.objects.create(
        provider=provider,
        collection=collection,
        family="email",
        normalised="family@example.com",
        reason="family_landline",
        recorded_by=provider_user,
    )
    [group] = [g for g in selectors.shared_details(submission=submission) if g.family == "email"]
    assert [value for value, _ in group.reason_choices] == ["family_landline", "family_email", "same_person", "other"]
    _record(provider, collection, provider_user, reason="family_landline", note="Their parents' address")
    assert SharedDetailReason.objects.get().note == "Their parents' address"


def test_liaison_see_a_providers_page_and_reasons_but_cannot_record(client, provider, provider_user, liaison, contacts):
    collection, _ = contacts
    _record(provider, collection, provider_user, note="Twins of the Smith family")
    client.force_login(liaison)
    url = reverse("shared_details", args=[collection.reference])
    assert "Choose a provider" in client.get(url).content.decode()
    page = client.get(url, {"provider": provider.ukprn}).content.decode()
    assert "Twins of the Smith family" in page and "Record reason" not in page
    client.post(
        f"{url}?provider={provider.ukprn}", {"family": "email", "normalised": "family@example.com", "remove": "1"}
    )
    assert SharedDetailReason.objects.exists()


def test_another_providers_staff_see_only_their_own(client, other_user, contacts):
    collection, _ = contacts
    client.force_login(other_user)
    page = client.get(reverse("shared_details", args=[collection.reference])).content.decode()
    assert TWIN_A not in page and "family@example.com" not in page


def test_csv_has_a_row_per_graduate_of_each_shared_detail(client, provider, provider_user, contacts):
    collection, _ = contacts
    _record(provider, collection, provider_user)
    client.force_login(provider_user)
    response = client.get(reverse("shared_details_csv", args=[collection.reference]), {"family": "email"})
    rows = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert rows[0].startswith("Detail type,Detail (normalised),Graduates,HUSID")
    assert len(rows) == 3
    assert rows[1].startswith(f"Email,family@example.com,2,{TWIN_A},1,EMAIL,Family@Example.com,")
    assert "Family members sharing an email address" in rows[1]


def test_a_student_record_collection_has_no_shared_details_page(client, provider_user, collection):
    client.force_login(provider_user)
    assert client.get(reverse("shared_details", args=[collection.reference])).status_code == 404


# -- the API -------------------------------------------------------------------------------------


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_api_lists_records_and_removes_reasons(provider, provider_user, liaison, contacts):
    collection, _ = contacts
    url = f"/api/v1/collections/{collection.reference}/shared-details/"
    api = _api(provider_user)
    listed = api.get(url).json()
    assert listed["count"] == 3
    first = listed["results"][0]
    assert first["normalised"] == "family@example.com" and first["reason"] is None
    assert [g["value"] for g in first["graduates"]] == ["Family@Example.com", "family@example.com "]
    body = {"family": "email", "normalised": "family@example.com", "reason": "family_email", "note": "Twins"}
    answer = api.post(url, body, format="json")
    assert answer.status_code == 200 and answer.json()["reason"]["note"] == "Twins"
    assert api.get(url, {"reason": "without"}).json()["count"] == 2
    # Liaison read it naming the provider, and may not change it.
    assert _api(liaison).get(url).json()["code"] == "ukprn_required"
    assert _api(liaison).get(url, {"ukprn": provider.ukprn}).json()["results"][0]["reason"]["reason"] == "family_email"
    refused = _api(liaison).post(url, {**body, "remove": True}, format="json")
    assert refused.status_code == 403
    removed = api.post(url, {"family": "email", "normalised": "family@example.com", "remove": True}, format="json")
    assert removed.status_code == 200 and removed.json()["reason"] is None
    not_shared = api.post(url, {**body, "normalised": "solo@example.com"}, format="json")
    assert (not_shared.status_code, not_shared.json()["code"]) == (400, "not_shared")


def test_recheck_is_offered_on_the_submission_page_of_a_completed_upload(client, provider_user, contacts):
    collection, submission = contacts
    client.force_login(provider_user)
    page = client.get(reverse("submission_detail", args=[submission.pk])).content.decode()
    # The contacts kind may not be registered on this branch: the button appears once it is.
    assert ("Re-check with these reasons" in page) == kinds.is_registered(collection.kind)
    assert reverse("shared_details", args=[collection.reference]) in page
    SubmissionFactory(
        provider=submission.provider, collection=collection, uploaded_by=provider_user, status=SubmissionStatus.QUEUED
    )
    assert "Re-check" not in client.get(reverse("submission_detail", args=[submission.pk])).content.decode()


def test_a_colleague_sees_the_same_shared_details(client, provider, contacts):
    collection, _ = contacts
    colleague = UserFactory(provider=provider)
    client.force_login(colleague)
    page = client.get(reverse("shared_details", args=[collection.reference])).content.decode()
    assert "3 shared details" in page
