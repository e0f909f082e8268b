import pytest

from audit.models import AuditEvent, AuditRefused
from core.audit import audit_record


@pytest.mark.django_db
def test_record_keeps_actor_and_scope(liaison, provider, collection):
    event = audit_record(
        actor=liaison,
        action="collection.deadline_changed",
        summary="Approval deadline moved.",
        provider=provider,
        collection=collection,
        details={"field": "approval_deadline"},
    )
    event.refresh_from_db()
    assert event.actor == liaison
    assert event.actor_name == liaison.username or event.actor_name == liaison.get_full_name()
    assert event.provider == provider
    assert event.details == {"field": "approval_deadline"}


@pytest.mark.django_db
def test_system_event_has_no_actor(provider):
    event = audit_record(actor=None, action="submission.verdict", summary="Passed.", provider=provider)
    assert event.actor is None and event.actor_name == ""


@pytest.mark.django_db
def test_events_are_append_only(provider):
    event = audit_record(actor=None, action="x.y", summary="First.", provider=provider)
    event.summary = "Rewritten."
    with pytest.raises(AuditRefused):
        event.save()
    with pytest.raises(AuditRefused):
        event.delete()
    with pytest.raises(AuditRefused):
        AuditEvent.objects.filter(pk=event.pk).update(summary="Rewritten.")
    with pytest.raises(AuditRefused):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).summary == "First."


def _actions(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True))


def test_upload_and_verdict_are_recorded(provider, provider_user, collection, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from collections_app.services import submission_create

    from ..xmlbuild import student, student_record

    upload = SimpleUploadedFile("r.xml", student_record(student()), content_type="application/xml")
    with django_capture_on_commit_callbacks(execute=True):
        submission = submission_create(
            collection=collection, provider=provider, user=provider_user, uploaded_file=upload
        )
    # The uploader is emailed the verdict (review.notifications), also recorded.
    assert _actions(submission=submission) == ["submission.uploaded", "submission.passed", "notification.sent"]
    uploaded, verdict, _ = AuditEvent.objects.filter(submission=submission).order_by("id")
    assert uploaded.actor == provider_user and uploaded.provider == provider and uploaded.collection == collection
    assert verdict.actor is None and "Passed" in verdict.summary


def test_deadline_change_is_recorded_in_uk_time(liaison, collection):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from collections_app.collection_services import collection_update

    new = datetime(2030, 7, 1, 17, 0, tzinfo=ZoneInfo("Europe/London"))
    collection_update(actor=liaison, collection=collection, approval_deadline=new)
    event = AuditEvent.objects.get(action="collection.deadline_changed")
    assert event.actor == liaison and event.collection == collection
    assert "→ 1 Jul 2030, 17:00" in event.summary
    # An unchanged save records nothing.
    collection_update(actor=liaison, collection=collection, approval_deadline=new)
    assert AuditEvent.objects.filter(collection=collection).count() == 1


def test_user_creation_and_role_change_are_recorded(liaison, provider):
    from accounts.models import Role
    from accounts.services import user_create, user_update

    user = user_create(actor=liaison, username="newbie", password="x-long-password-1", role=Role.PROVIDER_USER,
                       provider=provider)  # fmt: skip
    user_update(actor=liaison, user=user, username="newbie", role=Role.PROVIDER_APPROVER, provider=provider)
    assert _actions(provider=provider) == ["user.created", "user.role_changed"]
    changed = AuditEvent.objects.get(action="user.role_changed")
    assert "Provider user" in changed.summary and "Provider approver" in changed.summary
    assert changed.actor == liaison
    # Saving without a role or provider change records nothing more.
    user_update(actor=liaison, user=user, username="newbie", role=Role.PROVIDER_APPROVER, provider=provider,
                first_name="New")  # fmt: skip
    assert AuditEvent.objects.filter(provider=provider).count() == 2


def test_warning_confirmation_is_recorded(provider, provider_user, collection):
    from collections_app.services import warning_confirm

    from ..review_helpers import add_warnings, make_submission

    submission = make_submission(provider, collection)
    failures = add_warnings(submission, "SR.ANY.01", 2)
    warning_confirm(submission=submission, failure_ids=[f.pk for f in failures], reason="Right.", user=provider_user)
    event = AuditEvent.objects.get(action="warning.confirmed")
    assert event.actor == provider_user and event.submission == submission and "2 warnings" in event.summary


def test_an_event_nobody_stores_is_an_error_not_a_silent_loss(provider):
    from django.core.exceptions import ImproperlyConfigured

    from audit.receivers import store
    from core.audit import audit_requested

    audit_requested.disconnect(dispatch_uid="audit.store")
    try:
        with pytest.raises(ImproperlyConfigured, match="No audit log is listening"):
            audit_record(actor=None, action="x.y", summary="Lost?", provider=provider)
    finally:
        audit_requested.connect(store, dispatch_uid="audit.store")
    assert audit_record(actor=None, action="x.y", summary="Kept.", provider=provider).summary == "Kept."
