"""Upload refusals and retry, at the service layer (the sweep of lost jobs: test_worker_recovery.py)."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from collections_app.models import Submission
from collections_app.services import submission_create, submission_retry
from core.errors import ActionRefused

from ..factories import CollectionFactory, SubmissionFactory
from ..xmlbuild import student, student_record


def xml_upload(content=None):
    return SimpleUploadedFile("r.xml", content or student_record(student()), content_type="application/xml")


def test_upload_is_stored_with_its_digest_and_processed(
    provider, provider_user, collection, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submission = submission_create(
            collection=collection, provider=provider, user=provider_user, uploaded_file=xml_upload()
        )
    submission.refresh_from_db()
    assert len(submission.sha256) == 64 and submission.size > 0
    assert submission.file.read().startswith(b"<?xml")
    assert submission.status == "passed"


@pytest.mark.parametrize(
    ("opens", "closes", "code"),
    [
        (timedelta(days=1), timedelta(days=10), "collection_not_open"),
        (-timedelta(days=10), -timedelta(minutes=1), "collection_closed"),
    ],
)
def test_closed_collection_refuses_and_stores_nothing(provider, provider_user, opens, closes, code):
    now = timezone.now()
    collection = CollectionFactory(reference="C22051", opens=now + opens, approval_deadline=now + closes)
    with pytest.raises(ActionRefused) as refused:
        submission_create(collection=collection, provider=provider, user=provider_user, uploaded_file=xml_upload())
    assert refused.value.code == code
    assert Submission.objects.count() == 0


def test_final_updates_deadline_keeps_the_collection_open(provider, provider_user):
    now = timezone.now()
    collection = CollectionFactory(
        reference="C23052", opens=now - timedelta(days=30), approval_deadline=now - timedelta(days=1),
        final_updates_deadline=now + timedelta(days=5),
    )  # fmt: skip
    assert collection.phase() == "final_updates"
    submission_create(collection=collection, provider=provider, user=provider_user, uploaded_file=xml_upload())
    assert Submission.objects.count() == 1


def test_provider_user_cannot_upload_for_another_provider(other_provider, provider_user, collection):
    with pytest.raises(ActionRefused) as refused:
        submission_create(
            collection=collection, provider=other_provider, user=provider_user, uploaded_file=xml_upload()
        )
    assert refused.value.code == "forbidden"


def test_liaison_cannot_upload_on_behalf_of_a_provider(provider, liaison, collection):
    # The return is the provider's statutory data; the agency reviews it and never supplies it.
    with pytest.raises(ActionRefused) as refused:
        submission_create(collection=collection, provider=provider, user=liaison, uploaded_file=xml_upload())
    assert refused.value.code == "forbidden" and "provider's own staff" in refused.value.message
    assert not Submission.objects.exists()


def test_liaison_may_retry_a_submission_that_stopped_with_an_error(
    provider, provider_user, liaison, collection, django_capture_on_commit_callbacks
):
    # A retry re-runs the file the provider supplied: liaison supplies no data by it.
    submission = SubmissionFactory(
        provider=provider, uploaded_by=provider_user, collection=collection, status="error", error_message="boom"
    )
    submission.file.save("r.xml", xml_upload(), save=True)
    with django_capture_on_commit_callbacks(execute=True):
        submission_retry(submission=submission, user=liaison)
    submission.refresh_from_db()
    assert submission.status == "passed" and submission.uploaded_by == provider_user
    assert Submission.objects.count() == 1


def test_retry_requeues_only_errored_submissions(
    provider, provider_user, collection, django_capture_on_commit_callbacks
):
    submission = SubmissionFactory(
        provider=provider, uploaded_by=provider_user, collection=collection, status="error", error_message="boom"
    )
    submission.file.save("r.xml", xml_upload(), save=True)
    with django_capture_on_commit_callbacks(execute=True):
        submission_retry(submission=submission, user=provider_user)
    submission.refresh_from_db()
    assert submission.status == "passed" and submission.error_message == ""
    with pytest.raises(ActionRefused):
        submission_retry(submission=submission, user=provider_user)
