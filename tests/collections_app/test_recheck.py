"""Re-checking a submission: the same stored file run again through the pipeline as a new
submission, without uploading it again (tested on the Student record kind)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from collections_app.models import RuleFailure, Submission, SubmissionStatus
from collections_app.services import submission_recheck
from core.errors import ActionRefused

from ..factories import SubmissionFactory
from ..hin.test_guidance_examples import process
from ..xmlbuild import instance, student, student_record


@pytest.fixture
def failed(provider, provider_user, collection):
    # RSNLEAVE without DATELEFT fails SR.DATE.02.
    content = student_record(student(instance(RSNLEAVE="01")), student(instance(NUMHUS="2")))
    submission = process(provider, provider_user, collection, content)
    assert submission.status == SubmissionStatus.FAILED
    return submission


def _failures(submission):
    return sorted(
        RuleFailure.objects.filter(submission=submission).values_list("code", "husid", "numhus", "field", "value")
    )


def test_a_recheck_runs_the_same_file_again_as_a_new_submission(failed, approver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        again = submission_recheck(submission=failed, user=approver)
    again.refresh_from_db()
    failed.refresh_from_db()
    assert again.pk != failed.pk
    assert (again.file.name, again.sha256, again.size, again.original_name) == (
        failed.file.name,
        failed.sha256,
        failed.size,
        failed.original_name,
    )
    assert again.uploaded_by == approver
    assert again.status == SubmissionStatus.FAILED
    assert _failures(again) == _failures(failed) != []
    assert failed.status == SubmissionStatus.SUPERSEDED  # the re-check is the current submission now
    event = AuditEvent.objects.get(action="submission.rechecked")
    assert event.submission_id == again.pk and event.details["from_submission"] == failed.pk


def test_refused_while_processing_or_for_a_file_that_never_got_through(failed, provider_user):
    queued = SubmissionFactory(
        provider=failed.provider, collection=failed.collection, uploaded_by=provider_user, status="queued"
    )
    for submission, code in ((queued, "in_flight"), (failed, "in_flight")):
        with pytest.raises(ActionRefused) as refused:
            submission_recheck(submission=submission, user=provider_user)
        assert refused.value.code == code
    Submission.objects.filter(pk=queued.pk).update(status="rejected")
    queued.refresh_from_db()
    with pytest.raises(ActionRefused) as refused:
        submission_recheck(submission=queued, user=provider_user)
    assert refused.value.code == "not_recheckable"


def test_refused_for_liaison_other_providers_and_closed_collections(failed, liaison, other_user, provider_user):
    for someone in (liaison, other_user):
        with pytest.raises(ActionRefused) as refused:
            submission_recheck(submission=failed, user=someone)
        assert refused.value.code == "forbidden"
    failed.collection.approval_deadline = timezone.now() - timedelta(minutes=1)
    failed.collection.save()
    with pytest.raises(ActionRefused) as refused:
        submission_recheck(submission=failed, user=provider_user)
    assert refused.value.code == "collection_closed"
    assert Submission.objects.count() == 1
    assert not AuditEvent.objects.filter(action="submission.rechecked").exists()


def test_the_submission_page_offers_it_and_the_button_rechecks(client, failed, provider_user, liaison):
    url = reverse("submission_detail", args=[failed.pk])
    client.force_login(liaison)
    assert "Re-check" not in client.get(url).content.decode()
    client.force_login(provider_user)
    page = client.get(url).content.decode()
    assert reverse("submission_recheck", args=[failed.pk]) in page
    response = client.post(reverse("submission_recheck", args=[failed.pk]))
    again = Submission.objects.latest("pk")
    assert again.pk != failed.pk
    assert response["Location"] == reverse("submission_detail", args=[again.pk])
