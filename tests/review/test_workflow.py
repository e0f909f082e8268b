"""Queries, sign-off and return, the liaison grid, and deadline reminders (idempotent, London days)."""

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied

from audit.models import AuditEvent
from core.errors import ActionRefused
from review import selectors, services
from review.models import Query, QueryMessage, ReminderSent, SignOff

from ..contacts.helpers import contact_collection
from ..factories import ApproverFactory, CollectionFactory, LiaisonFactory, ProviderFactory
from ..review_helpers import london, make_submission
from .records import add_graduate, add_student_record


def refused_code(call) -> str:
    with pytest.raises(ActionRefused) as refused:
        call()
    return refused.value.code


# -- queries -----------------------------------------------------------------------------------


def test_query_lifecycle_keeps_every_message(provider, provider_user, liaison, collection):
    submission = make_submission(provider, collection)
    add_student_record(submission, "9811681234562")
    query = services.query_raise(
        submission=submission, user=liaison, subject="Check 5b: 40 gender changes since last year",
        body="Please confirm.", rule_code="HIN5b", husid="9811681234562", numhus="1",
    )  # fmt: skip
    assert (query.status, query.rule_code, query.husid, query.numhus) == ("open", "HIN5b", "9811681234562", "1")
    assert selectors.open_query_counts(user=provider_user).awaiting_provider == 1
    services.query_respond(query=query, user=provider_user, body="Confirmed.")
    assert selectors.open_query_counts(user=liaison).awaiting_liaison == 1
    services.query_reopen(query=query, user=liaison, body="And the other 39?")
    assert query.status == "open"
    services.query_respond(query=query, user=provider_user, body="All confirmed.")
    services.query_accept(query=query, user=liaison)
    assert query.status == "closed" and query.closed_at
    assert selectors.open_query_counts(user=liaison).unresolved == 0
    assert [m.kind for m in selectors.query_messages(query=query)] == [
        "raised", "response", "reopened", "response", "accepted",
    ]  # fmt: skip
    assert refused_code(lambda: services.query_respond(query=query, user=provider_user, body="More")) == "wrong_state"
    assert refused_code(lambda: services.query_accept(query=query, user=liaison)) == "wrong_state"
    services.query_reopen(query=query, user=liaison, body="Reopened after all.")
    assert AuditEvent.objects.filter(action__startswith="query.").count() == 6


def test_query_roles(provider, provider_user, approver, liaison, other_user, collection):
    submission = make_submission(provider, collection)
    with pytest.raises(PermissionDenied):
        services.query_raise(submission=submission, user=provider_user, subject="s", body="b")
    query = services.query_raise(submission=submission, user=liaison, subject="s", body="b")
    for call in (
        lambda: services.query_respond(query=query, user=liaison, body="x"),
        lambda: services.query_respond(query=query, user=other_user, body="x"),
        lambda: services.query_accept(query=query, user=approver),
        lambda: services.query_reopen(query=query, user=provider_user, body="x"),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert refused_code(lambda: services.query_respond(query=query, user=approver, body=" ")) == "body_required"
    assert refused_code(lambda: services.query_raise(submission=submission, user=liaison, subject="", body="b")) == (
        "subject_required"
    )
    assert refused_code(lambda: services.query_reopen(query=query, user=liaison, body="x")) == "wrong_state"
    assert list(selectors.queries_visible_to(user=other_user)) == []
    assert list(selectors.queries_visible_to(user=provider_user)) == [query]
    assert QueryMessage.objects.count() == 1


HUSID = "9811681234562"


@pytest.mark.parametrize(
    "husid, numhus, code",
    [
        ("<b>x</b>", "", "invalid_husid"),
        ("981168123456", "", "invalid_husid"),  # 12 digits
        ("98116812345620", "", "invalid_husid"),  # 14: refused, never cut to 13
        ("\uff19811681234562", "", "invalid_husid"),  # a full-width digit is not a digit of a HUSID
        (HUSID, "1 2", "invalid_numhus"),
        (HUSID, "x" * 21, "invalid_numhus"),
        ("", "1", "husid_required"),
        ("9811681234570", "", "record_not_found"),
        (HUSID, "=1+1", "record_not_found"),  # well formed (any 1-20 characters but spaces), not a record
        (HUSID, "01", "record_not_found"),  # "1" and "01" are different NUMHUS
    ],
)
def test_a_query_names_a_record_of_its_submission_or_is_refused(provider, liaison, collection, husid, numhus, code):
    submission = make_submission(provider, collection)
    add_student_record(submission, HUSID, "1")
    raise_it = lambda: services.query_raise(  # noqa: E731
        submission=submission, user=liaison, subject="s", body="b", husid=husid, numhus=numhus
    )
    assert refused_code(raise_it) == code
    assert not Query.objects.exists()


def test_a_query_on_a_record_of_its_submission(provider, liaison, collection):
    earlier, submission = make_submission(provider, collection), make_submission(provider, collection)
    add_student_record(earlier, "9811681234570")
    add_student_record(submission, HUSID, "100.MAT")

    def raise_on(husid, numhus=""):
        query = services.query_raise(
            submission=submission, user=liaison, subject="s", body="b", husid=husid, numhus=numhus
        )
        return query.husid, query.numhus

    assert raise_on(HUSID) == (HUSID, "")
    assert raise_on(f" {HUSID} ", " 100.MAT ") == (HUSID, "100.MAT")  # a pasted space is not part of it
    # Another upload's record is not this submission's.
    assert refused_code(lambda: raise_on("9811681234570")) == "record_not_found"
    # A contact details submission's records are its graduates.
    contacts = make_submission(provider, contact_collection())
    add_graduate(contacts, HUSID, "2")
    query = services.query_raise(submission=contacts, user=liaison, subject="s", body="b", husid=HUSID, numhus="2")
    assert (query.husid, query.numhus) == (HUSID, "2")
    other_numhus = lambda: services.query_raise(  # noqa: E731
        submission=contacts, user=liaison, subject="s", body="b", husid=HUSID, numhus="1"
    )
    assert refused_code(other_numhus) == "record_not_found"


# -- sign-off and return -----------------------------------------------------------------------


def test_sign_off_after_approval_and_return_with_a_query(provider, approver, provider_user, liaison, collection):
    submission = make_submission(provider, collection)
    assert (
        refused_code(lambda: services.collection_sign_off(provider=provider, collection=collection, user=liaison))
        == "not_approved"
    )
    services.submission_approve(submission=submission, user=approver)
    with pytest.raises(PermissionDenied):
        services.collection_sign_off(provider=provider, collection=collection, user=approver)
    services.collection_sign_off(provider=provider, collection=collection, user=liaison)
    assert selectors.collection_state(provider=provider, collection=collection).state == "signed_off"
    assert (
        refused_code(lambda: services.collection_sign_off(provider=provider, collection=collection, user=liaison))
        == "signed_off"
    )

    query = services.collection_return(
        provider=provider, collection=collection, user=liaison, subject="Returned", body="Check the leavers."
    )
    assert query.kind == "return" and query.blocks_approval and query.submission == submission
    state = selectors.collection_state(provider=provider, collection=collection)
    assert (state.state, state.open_queries) == ("approved", 1)
    assert SignOff.objects.get().reopened_at is not None
    assert (
        refused_code(lambda: services.collection_sign_off(provider=provider, collection=collection, user=liaison))
        == "open_queries"
    )
    services.query_respond(query=query, user=provider_user, body="Fixed in the system, data unchanged.")
    services.query_accept(query=query, user=liaison)
    services.collection_sign_off(provider=provider, collection=collection, user=liaison)
    assert SignOff.objects.filter(reopened_at__isnull=True).count() == 1
    assert {"collection.signed_off", "collection.returned"} <= set(AuditEvent.objects.values_list("action", flat=True))


def test_sign_off_refused_when_updated_since_approval(provider, approver, liaison, collection):
    services.submission_approve(submission=make_submission(provider, collection), user=approver)
    make_submission(provider, collection, status="failed")
    assert (
        refused_code(lambda: services.collection_sign_off(provider=provider, collection=collection, user=liaison))
        == "updated_since_approval"
    )


def test_return_needs_an_approval(provider, liaison, collection):
    assert (
        refused_code(
            lambda: services.collection_return(
                provider=provider, collection=collection, user=liaison, subject="s", body="b"
            )
        )
        == "not_approved"
    )


# -- liaison grid ------------------------------------------------------------------------------


def test_grid_states_counts_and_csv_in_a_fixed_number_of_queries(
    provider, approver, liaison, collection, django_assert_num_queries
):
    other = CollectionFactory(
        reference="C23052", opens=collection.opens, approval_deadline=collection.approval_deadline
    )
    providers = [ProviderFactory() for _ in range(6)]
    make_submission(providers[0], collection, status="processing")
    make_submission(providers[1], collection, status="rejected")
    make_submission(providers[2], collection, status="passed")
    services.submission_approve(submission=make_submission(provider, collection), user=approver)
    services.collection_sign_off(provider=provider, collection=collection, user=liaison)
    for p in providers[3:5]:
        services.submission_approve(submission=make_submission(p, collection), user=ApproverFactory(provider=p))
    make_submission(providers[4], collection, status="error")  # not a completed upload: still approved
    make_submission(providers[3], collection, status="failed")
    services.query_raise(submission=make_submission(providers[5], other), user=liaison, subject="s", body="b")

    with django_assert_num_queries(7):
        grid = selectors.liaison_grid(user=liaison)
    cells = {(cell.provider.pk, cell.collection.reference): cell.status for row in grid.rows for cell in row.cells}
    assert cells[(providers[0].pk, "C23051")].state == "processing"
    assert (cells[(providers[1].pk, "C23051")].state, cells[(providers[1].pk, "C23051")].latest_status) == (
        "failed",
        "rejected",
    )
    assert cells[(providers[2].pk, "C23051")].state == "passed"
    assert cells[(provider.pk, "C23051")].state == "signed_off"
    assert cells[(providers[3].pk, "C23051")].state == "updated"
    assert cells[(providers[4].pk, "C23051")].state == "approved"
    assert cells[(providers[5].pk, "C23052")].state == "passed" and cells[(providers[5].pk, "C23052")].open_queries == 1
    assert cells[(providers[5].pk, "C23051")].state == "none"
    assert grid.counts["none"] == 7 and sum(grid.counts.values()) == 14
    assert grid.counts["signed_off"] == 1 and grid.counts["approved_late"] == 0

    with django_assert_num_queries(7):
        more = selectors.liaison_grid(user=liaison, collections=["C23051"], state="passed")
    assert [row.provider for row in more.rows] == [providers[2]]
    rows = list(selectors.liaison_grid_csv_rows(more))
    assert rows[0] == selectors.GRID_CSV_HEADER and rows[1][:4] == [
        providers[2].ukprn,
        providers[2].name,
        "C23051",
        "Passed",
    ]


def test_grid_for_provider_staff_is_their_own_row(provider, provider_user, other_provider, collection):
    grid = selectors.liaison_grid(user=provider_user)
    assert [row.provider for row in grid.rows] == [provider]


# -- deadline reminders ------------------------------------------------------------------------


@pytest.fixture
def october(db):
    """Approval deadline 17:00 on Monday 28 Oct 2024, the day after the clocks go back."""
    return CollectionFactory(
        reference="C24051",
        reporting_year=2024,
        opens=london(2024, 8, 1, 9),
        approval_deadline=london(2024, 10, 28, 17),
        final_updates_deadline=london(2024, 11, 4, 17),
    )


def run_reminders(at):
    with time_machine.travel(at, tick=False):
        return services.reminders_send()


@pytest.mark.parametrize(
    ("at", "days"),
    [
        (london(2024, 10, 14, 8), 14),
        (london(2024, 10, 21, 8), 7),
        # 00:30 on Sunday 27 Oct in London is still Saturday in UTC: a London calendar day, 1 day before.
        (london(2024, 10, 27, 0, 30), 1),
        (london(2024, 10, 28, 8), 1),  # the deadline's day: the 1-day reminder if it was missed
    ],
)
def test_approval_reminders_by_london_calendar_day(at, days, provider, approver, october):
    ApproverFactory(provider=provider, email="")  # no address: not a recipient
    assert run_reminders(at) == 1
    [email] = mail.outbox
    assert email.to == [approver.email]
    assert email.subject.startswith("C24051: approval is due")
    assert "28 Oct 2024, 17:00" in email.subject
    assert ReminderSent.objects.get().kind == f"approval_{days}"
    assert run_reminders(at) == 0  # a re-run sends nothing twice
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="reminder.sent").count() == 1


def test_reminder_schedule_over_the_weeks(provider, approver, october):
    sent = [run_reminders(london(2024, 10, day, 8)) for day in range(10, 29)]
    # 14 days before (14 Oct), 7 (21 Oct), 1 (27 Oct): a London day each, not UTC.
    assert [10 + i for i, n in enumerate(sent) if n] == [14, 21, 27]
    assert run_reminders(london(2024, 10, 28, 16, 59)) == 0
    assert run_reminders(london(2024, 10, 28, 17, 0)) == 0  # deadline passed: no approval reminder


def test_moving_the_deadline_sends_its_reminders_again(provider, approver, october):
    assert run_reminders(london(2024, 10, 21, 8)) == 1  # 7 days before 28 Oct
    october.approval_deadline = london(2024, 11, 4, 16)
    october.final_updates_deadline = london(2024, 11, 11, 17)
    october.save()
    assert run_reminders(london(2024, 10, 21, 9)) == 1  # 14 days before the new deadline
    assert run_reminders(london(2024, 10, 28, 8)) == 1  # 7 days before it, again
    assert run_reminders(london(2024, 10, 28, 9)) == 0
    assert "4 Nov 2024, 16:00" in mail.outbox[-1].subject


def test_no_approval_reminder_once_approved(provider, approver, october):
    submission = make_submission(provider, october)
    with time_machine.travel(london(2024, 10, 13, 8), tick=False):
        services.submission_approve(submission=submission, user=approver)
    assert run_reminders(london(2024, 10, 14, 8)) == 0
    assert mail.outbox == []


def test_final_updates_day_reminder(provider, approver, october):
    assert run_reminders(london(2024, 11, 3, 23, 30)) == 0  # 23:30 UTC is 4 Nov in UTC terms only in summer
    assert run_reminders(london(2024, 11, 4, 7)) == 1
    assert run_reminders(london(2024, 11, 4, 12)) == 0
    assert "closes today at 17:00" in mail.outbox[0].subject
    assert run_reminders(london(2024, 11, 4, 17)) == 0  # closed


def test_march_clock_change_reminder_day(provider, approver):
    CollectionFactory(
        reference="C24052",
        reporting_year=2024,
        opens=london(2025, 1, 1, 9),
        approval_deadline=london(2025, 4, 1, 17),
    )
    # 00:30 BST on Mon 31 Mar is 23:30 UTC on Sunday 30 Mar: in London it is already 1 day before.
    assert run_reminders(london(2025, 3, 31, 0, 30)) == 1
    assert ReminderSent.objects.get().kind == "approval_1"


def test_liaison_digest_lists_providers_at_risk_once_a_day(provider, approver, october):
    LiaisonFactory(email="lee@agency.example")
    other = ProviderFactory(name="Safe University")
    with time_machine.travel(london(2024, 10, 1, 12), tick=False):
        services.submission_approve(submission=make_submission(other, october), user=ApproverFactory(provider=other))
    with time_machine.travel(london(2024, 10, 21, 8, 15), tick=False):
        assert services.liaison_digest_send() == 1
        assert services.liaison_digest_send() == 0
    [email] = mail.outbox
    assert email.to == ["lee@agency.example"]
    assert provider.name in email.body and "Safe University" not in email.body
    with time_machine.travel(london(2024, 10, 22, 8, 15), tick=False):
        assert services.liaison_digest_send() == 1
    with time_machine.travel(london(2024, 10, 1, 8, 15), tick=False):
        assert services.liaison_digest_send() == 0  # deadline more than 14 days away: nobody at risk


def test_beat_schedule_has_the_review_tasks(settings, db):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"review.send_deadline_reminders", "review.send_liaison_digest"} <= tasks
    from review.tasks import send_deadline_reminders

    assert send_deadline_reminders.delay().get() == 0


def test_a_query_names_a_rule_that_exists_or_is_refused(provider, liaison, collection):
    submission = make_submission(provider, collection)
    raise_on = lambda code: services.query_raise(  # noqa: E731
        submission=submission, user=liaison, subject="s", body="b", rule_code=code
    )
    assert refused_code(lambda: raise_on("=HYPERLINK(1)")) == "unknown_rule"
    assert refused_code(lambda: raise_on("SR.NOPE.99")) == "unknown_rule"
    assert not Query.objects.exists()
    assert raise_on(" SR.HIN.01 ").rule_code == "SR.HIN.01"
    assert raise_on("").rule_code == ""


def test_query_text_is_bounded_not_stored_whatever_its_size(provider, provider_user, liaison, collection):
    """A pasted file as a query message went into the database, the emails and the audit log; a
    long subject was cut to 200 characters without a word."""
    submission = make_submission(provider, collection)
    raise_it = lambda subject, body: services.query_raise(  # noqa: E731
        submission=submission, user=liaison, subject=subject, body=body
    )
    assert refused_code(lambda: raise_it("s" * 201, "b")) == "too_long"
    assert refused_code(lambda: raise_it("s", "b" * 10_001)) == "too_long"
    assert not Query.objects.exists()
    query = raise_it("s" * 200, "b" * 10_000)
    assert len(query.subject) == 200
    respond = lambda body: services.query_respond(query=query, user=provider_user, body=body)  # noqa: E731
    assert refused_code(lambda: respond("r" * 10_001)) == "too_long"
    with pytest.raises(ActionRefused) as refused:
        respond("r" * 10_001)
    assert refused.value.message == "That is 10,001 characters; keep it to 10,000."
