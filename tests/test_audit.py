import pytest

from audit.models import AuditEvent, AuditRefused
from audit.services import audit_record


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
