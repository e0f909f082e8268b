"""Notification emails: who gets each kind, preferences, the audit log, once only, failures that
change nothing; the account page's choices and the signed-off warning on the upload page."""

import io

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from audit.models import AuditEvent
from collections_app.models import Submission
from collections_app.signals import submission_completed
from review import notifications, services
from review.models import NotificationPreference, OverrideRequest, ReminderSent, SignOff
from student_record.sample_data import write_student_record

from ..factories import ApproverFactory, LiaisonFactory
from ..review_helpers import add_warnings, make_submission, temporary_rule


class Broken:
    """An email backend whose server is down."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a service call and then its on-commit callbacks (the notifications)."""

    def call(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return call


@pytest.fixture
def base_url(settings):
    settings.PORTAL_BASE_URL = "https://returns.example.org"
    return settings.PORTAL_BASE_URL


def sent_to(kind_subject_part=None) -> list[set[str]]:
    return [set(m.to) for m in mail.outbox if kind_subject_part is None or kind_subject_part in m.subject]


def recipients() -> set[str]:
    return {address for message in mail.outbox for address in message.to}


def notified(kind) -> list[AuditEvent]:
    return [e for e in AuditEvent.objects.filter(action="notification.sent") if e.details["kind"] == kind]


def complete(submission):
    """What the runner does when a verdict is stored: the signal, inside its transaction."""
    with transaction.atomic():
        submission_completed.send(sender=Submission, submission=submission)


# -- each kind, to the right people --------------------------------------------------------------


def test_processing_finished_tells_the_uploader_with_the_verdict_and_a_link(
    provider, provider_user, approver, collection, run, base_url
):
    submission = make_submission(provider, collection, status="failed", uploaded_by=provider_user, error_count=3)
    run(lambda: complete(submission))
    assert [m.to for m in mail.outbox] == [[provider_user.email]]
    message = mail.outbox[0]
    assert "failed" in message.subject and collection.reference in message.subject
    assert "Errors: 3." in message.body
    link = f"{base_url}/submissions/{submission.pk}/"
    assert link in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and f'href="{link}"' in html
    [event] = notified("submission_processed")
    assert event.details == {
        "kind": "submission_processed",
        "key": f"notify:processed:{submission.pk}",
        "recipients": 1,
    }
    assert event.submission_id == submission.pk
    assert "Errors" not in event.summary  # never the email's text


def test_processing_finished_through_the_real_pipeline(provider, provider_user, collection, client, run):
    out = io.StringIO()
    write_student_record(out, instances=20, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
                         reporting_year=2023, seed=2)  # fmt: skip
    client.force_login(provider_user)
    run(
        lambda: client.post(
            reverse("collection_upload", args=[collection.reference]), {"file": io.BytesIO(out.getvalue().encode())}
        )
    )
    submission = Submission.objects.get()
    assert submission.status in ("passed", "failed")
    assert [m.to for m in mail.outbox] == [[provider_user.email]]
    assert submission.status in mail.outbox[0].subject


def test_a_rejected_file_tells_the_uploader_too(provider, provider_user, collection, client, run):
    client.force_login(provider_user)
    run(
        lambda: client.post(
            reverse("collection_upload", args=[collection.reference]), {"file": io.BytesIO(b"<Wrong/>")}
        )
    )
    assert Submission.objects.get().status == "rejected"
    assert [m.to for m in mail.outbox] == [[provider_user.email]]
    assert "rejected" in mail.outbox[0].subject and "Nothing was stored" in mail.outbox[0].body


def test_a_query_goes_to_the_providers_staff_and_its_answer_to_the_liaison_who_raised_it(
    provider, provider_user, approver, other_user, liaison, collection, run
):
    other_liaison = LiaisonFactory()
    submission = make_submission(provider, collection, uploaded_by=provider_user)
    query = run(
        lambda: services.query_raise(submission=submission, user=liaison, subject="Check 5b", body="Please confirm.")
    )
    assert recipients() == {provider_user.email, approver.email} and len(mail.outbox) == 2
    assert "Check 5b" in mail.outbox[0].subject and f"/queries/{query.pk}/" in mail.outbox[0].body
    mail.outbox.clear()
    run(lambda: services.query_respond(query=query, user=provider_user, body="Confirmed."))
    assert sent_to() == [{liaison.email}]  # not other_liaison, not the provider
    assert other_liaison.email not in recipients()
    # A second response is another event: another email.
    run(lambda: services.query_reopen(query=query, user=liaison, body="And the rest?"))
    run(lambda: services.query_respond(query=query, user=approver, body="All confirmed."))
    assert sent_to("responded to your query") == [{liaison.email}, {liaison.email}]
    assert len(notified("query_raised")) == 1 and len(notified("query_answered")) == 2
    assert notified("query_raised")[0].details["recipients"] == 2


def test_a_reopened_query_goes_back_to_the_providers_staff(
    provider, provider_user, approver, other_user, liaison, collection, run, base_url
):
    submission = make_submission(provider, collection, uploaded_by=provider_user)
    query = services.query_raise(
        submission=submission, user=liaison, subject="Check 5b", body="Please confirm.", blocks_approval=True
    )
    services.query_respond(query=query, user=provider_user, body="Confirmed.")
    mail.outbox.clear()
    run(lambda: services.query_reopen(query=query, user=liaison, body="Two records are still wrong."))
    # Whoever a raised query goes to: the provider's users and approvers, not liaison or another provider.
    assert recipients() == {provider_user.email, approver.email} and len(mail.outbox) == 2
    message = mail.outbox[0]
    assert "reopened a query" in message.subject and "Check 5b" in message.subject
    assert f"{base_url}/queries/{query.pk}/" in message.body
    assert "waiting for your response again" in message.body and "must be answered before" in message.body
    [event] = notified("query_reopened")
    assert event.details["recipients"] == 2 and event.submission_id == submission.pk

    # The same preference mechanism: a user who turned it off is not sent it.
    wanted = [kind.code for kind in notifications.kinds_for(provider_user) if kind.code != "query_reopened"]
    services.notification_preferences_set(user=provider_user, enabled=wanted)
    services.query_respond(query=query, user=provider_user, body="Fixed now.")
    mail.outbox.clear()
    run(lambda: services.query_reopen(query=query, user=liaison, body="One left."))
    assert sent_to() == [{approver.email}]
    # Accepting (closing) a query asks nothing more of the provider: no email.
    mail.outbox.clear()
    run(lambda: services.query_accept(query=query, user=liaison))
    assert mail.outbox == []


def test_an_override_request_goes_to_every_liaison(
    provider, provider_user, approver, liaison, collection, run, base_url
):
    other_liaison = LiaisonFactory()
    services.notification_preferences_set(user=other_liaison, enabled=["query_answered", "submission_approved"])
    submission = make_submission(provider, collection, uploaded_by=provider_user)
    with temporary_rule("TSTN", percent=5):
        add_warnings(submission, "TSTN", 10)
        # A refused request asks liaison for nothing.
        with pytest.raises(services.ActionRefused):
            run(lambda: services.override_request(
                submission=submission, code="TSTN", percent=1, justification="Right.", user=provider_user
            ))  # fmt: skip
        assert mail.outbox == []
        override = run(
            lambda: services.override_request(
                submission=submission, code="TSTN", percent=10, justification="Right as it is.", user=provider_user
            )
        )
    # Every liaison who has not turned it off (other_liaison has); never the provider's staff.
    assert sent_to() == [{liaison.email}]
    message = mail.outbox[0]
    assert "requested an override for check TSTN" in message.subject and provider.name in message.subject
    assert f"{base_url}/overrides/?provider={provider.ukprn}" in message.body
    assert f"submission {submission.pk}" in message.body and "10.00% of records" in message.body
    [event] = notified("override_requested")
    assert event.details["key"] == f"notify:override-requested:{override.pk}"


def test_an_override_decision_goes_to_the_requester(provider, provider_user, approver, liaison, collection, run):
    submission = make_submission(provider, collection, uploaded_by=provider_user)
    override = OverrideRequest.objects.create(
        submission=submission, provider=provider, collection=collection, code="TEST_W", percent=5,
        justification="Right as it is.", requested_by=provider_user,
    )  # fmt: skip
    run(lambda: services.override_decide(override=override, approve=False, message="Not enough.", user=liaison))
    assert sent_to() == [{provider_user.email}]
    assert "refused" in mail.outbox[0].subject and "Not enough." in mail.outbox[0].body


def test_approval_goes_to_liaison_and_the_providers_other_approvers(
    provider, provider_user, approver, liaison, collection, run
):
    second = ApproverFactory(provider=provider)
    submission = make_submission(provider, collection, uploaded_by=provider_user)
    run(lambda: services.submission_approve(submission=submission, user=approver))
    assert recipients() == {liaison.email, second.email}  # not the approver who approved, not a provider user
    assert all(len(m.to) == 1 for m in mail.outbox)  # recipients never see each other's addresses
    assert notified("submission_approved")[0].details["recipients"] == 2


def test_sign_off_and_the_upload_that_reopens_it(provider, provider_user, approver, liaison, collection, run):
    submission = make_submission(provider, collection, uploaded_by=provider_user)
    services.submission_approve(submission=submission, user=approver)
    mail.outbox.clear()
    run(lambda: services.collection_sign_off(provider=provider, collection=collection, user=liaison))
    assert sent_to() == [{approver.email}]
    assert "signed off" in mail.outbox[0].subject
    mail.outbox.clear()

    newer = make_submission(provider, collection, uploaded_by=provider_user)
    run(lambda: complete(newer))
    assert SignOff.objects.get().reopened_at is not None
    reopened = [m for m in mail.outbox if "reopened the sign-off" in m.subject]
    assert {address for m in reopened for address in m.to} == {approver.email, liaison.email}
    assert sent_to("your upload") == [{provider_user.email}]  # and the uploader hears the verdict
    # The same event again (a re-sent signal) sends nothing more.
    mail.outbox.clear()
    run(lambda: complete(newer))
    assert mail.outbox == []
    assert len(notified("sign_off_reopened")) == 1


# -- preferences, once only, failures ------------------------------------------------------------


def test_a_kind_turned_off_is_not_sent_to_that_user(provider, provider_user, approver, liaison, collection, run):
    services.notification_preferences_set(user=provider_user, enabled=["submission_processed"])
    submission = make_submission(provider, collection, uploaded_by=provider_user)
    run(lambda: services.query_raise(submission=submission, user=liaison, subject="s", body="b"))
    assert sent_to() == [{approver.email}]
    assert notified("query_raised")[0].details["recipients"] == 1

    services.notification_preferences_set(user=approver, enabled=[])
    run(lambda: services.query_raise(submission=submission, user=liaison, subject="t", body="b"))
    assert len(mail.outbox) == 1  # nobody left: nothing sent, nothing recorded
    assert len(notified("query_raised")) == 1
    assert (
        not ReminderSent.objects.filter(key__startswith="notify:query-raised:")
        .exclude(key=notified("query_raised")[0].details["key"])
        .exists()
    )


def test_not_sent_twice_for_one_event(provider, provider_user, collection, run):
    submission = make_submission(provider, collection, uploaded_by=provider_user)
    run(lambda: complete(submission))
    run(lambda: complete(submission))
    assert len(mail.outbox) == 1 and len(notified("submission_processed")) == 1


def test_nothing_is_sent_for_an_action_rolled_back(provider, provider_user, liaison, approver, collection, run):
    submission = make_submission(provider, collection, uploaded_by=provider_user)

    def raise_then_fail():
        with transaction.atomic():
            services.query_raise(submission=submission, user=liaison, subject="s", body="b")
            raise RuntimeError("later step failed")

    with pytest.raises(RuntimeError):
        run(raise_then_fail)
    assert mail.outbox == [] and notified("query_raised") == []


def test_a_failed_send_is_logged_and_the_action_stands(
    provider, provider_user, approver, liaison, collection, run, settings, caplog
):
    settings.EMAIL_BACKEND = f"{__name__}.Broken"
    submission = make_submission(provider, collection, uploaded_by=provider_user)
    query = run(lambda: services.query_raise(submission=submission, user=liaison, subject="s", body="b"))
    assert query.pk and query.status == "open"
    assert AuditEvent.objects.filter(action="query.raised").count() == 1
    assert notified("query_raised") == [] and not ReminderSent.objects.exists()
    assert "could not be sent" in caplog.text
    # Once the server is back, the next event is sent (the failed one left no claim behind).
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run(lambda: services.query_respond(query=query, user=provider_user, body="Done."))
    assert sent_to() == [{liaison.email}]


def test_no_email_address_no_email(provider, provider_user, collection, run):
    provider_user.email = ""
    provider_user.save()
    run(lambda: complete(make_submission(provider, collection, uploaded_by=provider_user)))
    assert mail.outbox == []


# -- screens -------------------------------------------------------------------------------------


def test_the_account_page_offers_the_kinds_of_the_role_and_saves_them(client, approver, liaison):
    client.force_login(approver)
    page = client.get(reverse("account")).content.decode()
    assert "Email me when" in page and "API token" in page  # the rest of the page is intact
    for kind in notifications.kinds_for(approver):
        assert f'value="{kind.code}" checked' in page
    assert 'value="query_answered"' not in page  # liaison's kind
    response = client.post(reverse("notification_preferences"), {"kind": ["signed_off", "query_raised"]})
    assert response.status_code == 302 and response.url == reverse("account")
    off = set(NotificationPreference.objects.filter(user=approver, enabled=False).values_list("kind", flat=True))
    assert off == {
        "submission_processed", "query_reopened", "override_decided", "submission_approved", "sign_off_reopened",
    }  # fmt: skip
    page = client.get(reverse("account")).content.decode()
    assert 'value="signed_off" checked' in page and 'value="submission_processed">' in page
    assert "Some emails are turned off" in page
    assert AuditEvent.objects.filter(action="notification.preferences_set", actor=approver).exists()

    client.force_login(liaison)
    page = client.get(reverse("account")).content.decode()
    assert 'value="query_answered" checked' in page and 'value="submission_processed"' not in page
    assert 'value="override_requested" checked' in page and 'value="query_reopened"' not in page


def test_the_upload_form_warns_before_uploading_over_a_signed_off_collection(
    client, provider, provider_user, approver, liaison, collection
):
    warning = "This collection is signed off: a new upload reopens the sign-off and needs approval again."
    client.force_login(provider_user)
    url = reverse("collection_detail", args=[collection.reference])
    services.submission_approve(
        submission=make_submission(provider, collection, uploaded_by=provider_user), user=approver
    )
    assert warning not in client.get(url).content.decode()
    services.collection_sign_off(provider=provider, collection=collection, user=liaison)
    page = client.get(url).content.decode()
    assert warning in page
    assert page.index(warning) < page.index('type="file"')
