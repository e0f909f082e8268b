"""Confirm every report A/D warning matching a filter with one reason (issue 12, item 5): the screen
and the API, only unconfirmed warnings of the filter, nothing for errors, superseded uploads or liaison."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from collections_app.models import RuleFailure, SubmissionStatus, WarningConfirmation
from collections_app.selectors import warning_counts
from core.errors import ActionRefused
from hin.services import hin_findings_confirm_matching
from student_record.sample_data import make_husid

from ..xmlbuild import instance, student
from . import test_guidance_examples as examples

years, run = examples.years, examples.run

MOVED = [make_husid(2022, "0168", n) for n in range(1, 7)]  # six students whose postcode changed
GENDER = make_husid(2022, "0168", 7)


def _people(*, this_year: bool):
    people = [
        student(instance(POSTCODE=("GL50 2AB" if this_year else "GL50 1HZ")), HUSID=husid, SURNAME=f"Mover{i}",
                BIRTHDTE=f"2001-01-0{i + 1}")
        for i, husid in enumerate(MOVED)
    ]  # fmt: skip
    people.append(student(instance(), HUSID=GENDER, GENDER="F" if this_year else "M", SURNAME="Gray"))
    return people


@pytest.fixture
def submission(run):
    return run(_people(this_year=False), _people(this_year=True))


def test_the_fixture_has_postcode_and_gender_changes(submission):
    assert RuleFailure.objects.filter(submission=submission, code="HIN3d").count() == 6
    assert RuleFailure.objects.filter(submission=submission, code="HIN5b").count() == 1


def test_confirms_every_match_of_the_filter_and_nothing_else(submission, provider_user):
    one = RuleFailure.objects.filter(submission=submission, code="HIN3d").order_by("id").first()
    WarningConfirmation.objects.create(
        provider=submission.provider, collection=submission.collection, code=one.code, husid=one.husid,
        numhus=one.numhus, value=one.value, reason="Earlier", submission=submission, confirmed_by=provider_user,
    )  # fmt: skip
    confirmed = hin_findings_confirm_matching(
        submission=submission, report="A", check="3d", field="POSTCODE", reason="Address check 2024", user=provider_user
    )
    assert confirmed == 5  # the one confirmed before keeps its own reason
    counts = warning_counts(submission=submission)
    assert counts["HIN3d"].outstanding == 0 and counts["HIN5b"].outstanding == 1
    assert WarningConfirmation.objects.filter(reason="Earlier").count() == 1
    event = AuditEvent.objects.filter(action="warning.confirmed").latest("id")
    assert "all 5 warnings matching report A, check 3d, field POSTCODE" in event.summary


def test_an_exact_change_narrows_it(submission, provider_user):
    change = RuleFailure.objects.get(submission=submission, code="HIN5b").value
    assert hin_findings_confirm_matching(
        submission=submission, report="A", value=change, reason="Gender updated", user=provider_user
    ) == 1  # fmt: skip
    assert warning_counts(submission=submission)["HIN3d"].outstanding == 6


def test_refusals_store_nothing(submission, provider_user, liaison):
    for kwargs, code in (
        ({"report": "B"}, "not_confirmable"),
        ({"report": "A", "check": "3d", "value": "nothing like this"}, "nothing_matches"),
        ({"report": "A", "reason": " "}, "reason_required"),
    ):
        with pytest.raises(ActionRefused) as refused:
            hin_findings_confirm_matching(**{"submission": submission, "reason": "x", "user": provider_user, **kwargs})
        assert refused.value.code == code
    with pytest.raises(Exception, match="provider's own staff"):
        hin_findings_confirm_matching(submission=submission, report="A", reason="x", user=liaison)
    submission.status = SubmissionStatus.SUPERSEDED
    submission.save()
    with pytest.raises(ActionRefused, match="current upload"):
        hin_findings_confirm_matching(submission=submission, report="A", reason="x", user=provider_user)
    assert not WarningConfirmation.objects.exists()


def test_the_page_offers_it_for_the_filter_and_confirms_on_every_page(client, submission, provider_user, settings):
    client.force_login(provider_user)
    url = reverse("hin_report", args=[submission.pk])
    page = client.get(url, {"report": "A", "check": "3d"}).content.decode()
    assert "Confirm all 6 unconfirmed warnings matching this filter" in page
    response = client.post(
        url,
        {"matching": "1", "report": "A", "check": "3d", "field": "POSTCODE", "reason": "Address check"},
        follow=True,
    )
    assert "Confirmed all 6 matching warnings" in response.content.decode()
    page = client.get(url, {"report": "A", "check": "3d"}).content.decode()
    assert 'id="confirm-matching"' not in page


def test_a_superseded_submission_offers_no_confirmation(client, submission, provider_user):
    submission.status = SubmissionStatus.SUPERSEDED
    submission.save()
    client.force_login(provider_user)
    page = client.get(reverse("hin_report", args=[submission.pk]), {"report": "A"}).content.decode()
    assert 'name="failure"' not in page and 'id="confirm-matching"' not in page


def test_the_api_confirms_matching_and_refuses_with_a_problem(submission, provider_user):
    api = APIClient()
    api.force_authenticate(provider_user)
    path = f"/api/v1/submissions/{submission.pk}/hin-report/confirm-matching/"
    response = api.post(path, {"report": "A", "check": "3d", "reason": "Address check"}, format="json")
    assert response.status_code == 200 and response.json() == {"confirmed": 6}
    response = api.post(path, {"report": "A", "check": "3d", "reason": "Again"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "nothing_matches"
    assert api.post(path, {"report": "B", "reason": "x"}, format="json").status_code == 400


def _confirm_one_postcode(submission, user):
    one = RuleFailure.objects.filter(submission=submission, code="HIN3d").order_by("id").first()
    WarningConfirmation.objects.create(
        provider=submission.provider, collection=submission.collection, code=one.code, husid=one.husid,
        numhus=one.numhus, value=one.value, reason="Earlier", submission=submission, confirmed_by=user,
    )  # fmt: skip


def test_the_offer_follows_the_status_filter(client, submission, provider_user):
    """Defect: with Status "Confirmed" the page listed 1 finding yet offered to confirm the 6 open
    ones, and its form left the status out, so it would confirm warnings not on screen."""
    _confirm_one_postcode(submission, provider_user)
    client.force_login(provider_user)
    url = reverse("hin_report", args=[submission.pk])
    page = client.get(url, {"report": "A", "check": "3d", "status": "confirmed"}).content.decode()
    assert "1 finding." in page and 'id="confirm-matching"' not in page
    page = client.get(url, {"report": "A", "check": "3d", "status": "open"}).content.decode()
    assert "5 findings." in page and "Confirm all 5 unconfirmed warnings matching this filter" in page
    assert '<input type="hidden" name="status" value="open">' in page


def test_posting_a_confirmed_only_filter_confirms_nothing(client, submission, provider_user):
    _confirm_one_postcode(submission, provider_user)
    client.force_login(provider_user)
    response = client.post(
        reverse("hin_report", args=[submission.pk]),
        {"matching": "1", "report": "A", "check": "3d", "status": "confirmed", "reason": "Address check"},
        follow=True,
    )
    assert "nothing to confirm" in response.content.decode()
    assert WarningConfirmation.objects.count() == 1
    with pytest.raises(ActionRefused) as refused:
        hin_findings_confirm_matching(
            submission=submission, report="A", confirmed=True, reason="Address check", user=provider_user
        )
    assert refused.value.code == "nothing_matches"
    assert hin_findings_confirm_matching(
        submission=submission, report="A", confirmed=False, reason="Address check", user=provider_user
    ) == 6  # fmt: skip  # the 5 open postcodes and the gender change


def test_the_api_takes_the_status_filter_too(submission, provider_user):
    api = APIClient()
    api.force_authenticate(provider_user)
    path = f"/api/v1/submissions/{submission.pk}/hin-report/confirm-matching/"
    body = {"report": "A", "check": "3d", "confirmed": True, "reason": "Address check"}
    response = api.post(path, body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "nothing_matches"
    assert not WarningConfirmation.objects.exists()
    response = api.post(path, {**body, "confirmed": False}, format="json")
    assert response.status_code == 200 and response.json() == {"confirmed": 6}
