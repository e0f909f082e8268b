"""Approval: who may approve, what blocks it, deadlines (frozen clocks in Europe/London, either
side of a clock change), tolerances and overrides, supersession and "updated since approval"."""

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile

from audit.models import AuditEvent
from collections_app.models import Submission
from collections_app.pipeline.runner import submission_process
from core.errors import ActionRefused
from review import selectors, services
from review.models import Approval, OverrideRequest, QueryMessage, SignOff

from ..factories import ApproverFactory, CollectionFactory, SubmissionFactory
from ..review_helpers import add_warnings, confirm, london, make_submission, temporary_rule
from ..xmlbuild import student, student_record


def refused_code(call) -> str:
    with pytest.raises(ActionRefused) as refused:
        call()
    return refused.value.code


# -- who, when, what ---------------------------------------------------------------------------


def test_approval_records_who_when_and_the_files_digest(provider, approver, collection):
    submission = make_submission(provider, collection, sha256="c" * 64)
    approval = services.submission_approve(submission=submission, user=approver)
    submission.refresh_from_db()
    assert submission.status == "approved"
    assert (approval.approved_by, approval.sha256, approval.late) == (approver, "c" * 64, False)
    assert selectors.collection_state(provider=provider, collection=collection).state == "approved"
    event = AuditEvent.objects.get(action="submission.approved")
    assert event.actor == approver and event.submission_id == submission.pk


@pytest.mark.parametrize("who", ["provider_user", "liaison", "other_approver"])
def test_only_the_providers_approver_may_approve(who, provider, collection, request, other_provider):
    user = ApproverFactory(provider=other_provider) if who == "other_approver" else request.getfixturevalue(who)
    submission = make_submission(provider, collection)
    with pytest.raises(PermissionDenied):
        services.submission_approve(submission=submission, user=user)
    assert Submission.objects.get(pk=submission.pk).status == "passed"
    assert not Approval.objects.exists()


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("failed", "not_passed"),
        ("rejected", "not_passed"),
        ("error", "not_passed"),
        ("processing", "not_finished"),
        ("superseded", "not_current"),
    ],
)
def test_only_a_passed_submission_can_be_approved(status, code, provider, approver, collection):
    submission = make_submission(provider, collection, status=status)
    assert refused_code(lambda: services.submission_approve(submission=submission, user=approver)) == code


def test_a_submission_that_is_not_the_latest_completed_upload_is_refused(provider, approver, collection):
    older = make_submission(provider, collection)
    make_submission(provider, collection, status="failed")
    assert refused_code(lambda: services.submission_approve(submission=older, user=approver)) == "not_current"
    assert selectors.approval_blockers(submission=older)[0].startswith("A newer upload")


def test_a_newer_upload_still_processing_does_not_stop_approval(provider, approver, collection):
    current = make_submission(provider, collection)
    make_submission(provider, collection, status="processing")
    services.submission_approve(submission=current, user=approver)


def test_approving_again_supersedes_the_previous_approval(provider, approver, collection):
    first = make_submission(provider, collection)
    old = services.submission_approve(submission=first, user=approver)
    second = make_submission(provider, collection)
    assert selectors.collection_state(provider=provider, collection=collection).state == "updated"
    new = services.submission_approve(submission=second, user=approver)
    old.refresh_from_db()
    assert Submission.objects.get(pk=first.pk).status == "superseded"
    assert Submission.objects.filter(provider=provider, collection=collection, status="approved").get() == second
    assert old.superseded_at is not None and old.superseded_by == new
    assert refused_code(lambda: services.submission_approve(submission=second, user=approver)) == "already_approved"


# -- deadlines, in London time, across clock changes -------------------------------------------


@pytest.fixture
def october(db):
    """Approval deadline 17:00 on Monday 28 Oct 2024, the day after the clocks go back (GMT);
    final updates until 17:00 on 4 Nov."""
    return CollectionFactory(
        reference="C24051",
        reporting_year=2024,
        opens=london(2024, 8, 1, 9),
        approval_deadline=london(2024, 10, 28, 17),
        final_updates_deadline=london(2024, 11, 4, 17),
    )


@pytest.mark.parametrize(
    ("at", "late"),
    [
        (london(2024, 10, 28, 16, 59), False),  # 16:59 GMT; a deadline taken as 17:00 BST would have passed
        (london(2024, 10, 28, 17, 0), True),
        (london(2024, 11, 4, 16, 59), True),
    ],
)
def test_approval_after_the_approval_deadline_is_allowed_but_late(at, late, provider, approver, october):
    submission = make_submission(provider, october)
    with time_machine.travel(at, tick=False):
        approval = services.submission_approve(submission=submission, user=approver)
        state = selectors.collection_state(provider=provider, collection=october)
    assert approval.late is late
    assert state.state == ("approved_late" if late else "approved") and state.late is late
    assert ("late" in AuditEvent.objects.get(action="submission.approved").summary) is late


def test_march_clock_change_deadline_is_17_00_bst(provider, approver):
    collection = CollectionFactory(
        reference="C24052",
        reporting_year=2024,
        opens=london(2025, 1, 1, 9),
        approval_deadline=london(2025, 3, 31, 17),  # the day after the clocks go forward: 16:00 UTC
        final_updates_deadline=london(2025, 4, 7, 17),
    )
    first = make_submission(provider, collection)
    with time_machine.travel(london(2025, 3, 31, 16, 30), tick=False):  # 15:30 UTC
        assert services.submission_approve(submission=first, user=approver).late is False
    second = make_submission(provider, collection)
    with time_machine.travel(london(2025, 3, 31, 17, 30), tick=False):  # 16:30 UTC, before 17:00 UTC
        assert services.submission_approve(submission=second, user=approver).late is True


def test_approval_is_refused_once_the_collection_closes_and_what_was_approved_stands(provider, approver, october):
    approved = make_submission(provider, october)
    with time_machine.travel(london(2024, 10, 1, 12), tick=False):
        services.submission_approve(submission=approved, user=approver)
    newer = make_submission(provider, october)
    with time_machine.travel(london(2024, 11, 4, 17, 0), tick=False):
        with pytest.raises(ActionRefused) as refused:
            services.submission_approve(submission=newer, user=approver)
        assert refused.value.code == "collection_closed"
        assert "closed on 4 Nov 2024, 17:00" in refused.value.message
        assert selectors.collection_state(provider=provider, collection=october).state == "updated"
    assert Submission.objects.get(pk=approved.pk).status == "approved"
    assert Submission.objects.get(pk=newer.pk).status == "passed"


def test_without_final_updates_the_approval_deadline_closes_the_collection(provider, approver):
    collection = CollectionFactory(
        reference="C24053", reporting_year=2024, opens=london(2024, 8, 1), approval_deadline=london(2024, 10, 28, 17)
    )
    submission = make_submission(provider, collection)
    with time_machine.travel(london(2024, 10, 28, 17, 0, 1), tick=False):
        assert refused_code(lambda: services.submission_approve(submission=submission, user=approver)) == (
            "collection_closed"
        )


# -- tolerances and overrides ------------------------------------------------------------------


@pytest.fixture
def tst1():
    with temporary_rule("TST1", percent=5) as registered:
        yield registered


def test_warnings_within_tolerance_do_not_block(provider, approver, collection, tst1):
    submission = make_submission(provider, collection, instances=100)
    add_warnings(submission, "TST1", 5)
    [row] = selectors.warnings_over_tolerance(submission=submission)
    assert (row.outstanding, row.percent, row.tolerance, row.blocks_approval) == (5, 5, "up to 5% of records", False)
    services.submission_approve(submission=submission, user=approver)


def test_warnings_over_tolerance_block_until_confirmed(provider, approver, provider_user, collection, tst1):
    submission = make_submission(provider, collection, instances=100)
    failures = add_warnings(submission, "TST1", 8)
    [message] = selectors.approval_blockers(submission=submission)
    assert message.startswith("Check TST1: 8 outstanding warnings (8.00% of records; tolerance up to 5% of records)")
    assert refused_code(lambda: services.submission_approve(submission=submission, user=approver)) == (
        "warnings_over_tolerance"
    )
    confirm(submission, failures[:3], provider_user)  # data quality improvements: 5 outstanding
    assert selectors.approval_blockers(submission=submission) == []
    services.submission_approve(submission=submission, user=approver)


def test_a_warning_rule_without_tolerance_blocks_any_outstanding_warning(provider, approver, collection):
    with temporary_rule("TST2"):
        submission = make_submission(provider, collection)
        add_warnings(submission, "TST2", 1)
        assert refused_code(lambda: services.submission_approve(submission=submission, user=approver)) == (
            "warnings_over_tolerance"
        )


def test_count_tolerance(provider, approver, collection):
    with temporary_rule("TST3", count=2):
        submission = make_submission(provider, collection)
        add_warnings(submission, "TST3", 3)
        assert [r.blocks_approval for r in selectors.warnings_over_tolerance(submission=submission)] == [True]


def test_override_approved_by_liaison_lets_approval_go_ahead_and_carries_forward(
    provider, approver, provider_user, liaison, collection, tst1
):
    submission = make_submission(provider, collection, instances=200)
    add_warnings(submission, "TST1", 20)  # 10%
    override = services.override_request(
        submission=submission, code="TST1", percent="12", justification="A new campus.", user=provider_user
    )
    [blocker] = selectors.approval_blockers(submission=submission)
    assert "waiting for Liaison's decision" in blocker
    with pytest.raises(PermissionDenied):
        services.override_decide(override=override, approve=True, message="", user=approver)
    services.override_decide(override=override, approve=True, message="Fine.", user=liaison)
    [row] = selectors.warnings_over_tolerance(submission=submission)
    assert row.covered and row.override == override and row.override_status == "approved"
    services.submission_approve(submission=submission, user=approver)

    within = make_submission(provider, collection, instances=100)
    add_warnings(within, "TST1", 12)  # 12%: still within what was approved
    assert selectors.approval_blockers(submission=within) == []
    beyond = make_submission(provider, collection, instances=100)
    add_warnings(beyond, "TST1", 13)
    assert selectors.warnings_over_tolerance(submission=beyond)[0].blocks_approval
    assert list(selectors.overrides_for(submission=beyond)) == [override]  # visible on later uploads


def test_refused_override_keeps_blocking_and_needs_a_message(
    provider, approver, provider_user, liaison, collection, tst1
):
    submission = make_submission(provider, collection)
    add_warnings(submission, "TST1", 10)
    override = services.override_request(
        submission=submission, code="TST1", percent=10, justification="Because.", user=provider_user
    )
    assert refused_code(
        lambda: services.override_decide(override=override, approve=False, message=" ", user=liaison)
    ) == ("message_required")
    services.override_decide(override=override, approve=False, message="Fix the data.", user=liaison)
    override.refresh_from_db()
    assert (override.status, override.decision_message, override.decided_by) == ("refused", "Fix the data.", liaison)
    assert refused_code(
        lambda: services.override_decide(override=override, approve=True, message="", user=liaison)
    ) == ("already_decided")
    assert refused_code(lambda: services.submission_approve(submission=submission, user=approver)) == (
        "warnings_over_tolerance"
    )
    assert {e.action for e in AuditEvent.objects.all()} >= {"override.requested", "override.refused"}


def test_override_request_refusals(provider, provider_user, liaison, other_user, collection, tst1):
    submission = make_submission(provider, collection)
    add_warnings(submission, "TST1", 10)

    def request(**kw):
        args = {"submission": submission, "code": "TST1", "percent": 10, "justification": "Why.", "user": provider_user}
        return lambda: services.override_request(**{**args, **kw})

    assert refused_code(request(percent=9)) == "percent_too_low"
    assert refused_code(request(percent=0)) == "invalid_percent"
    assert refused_code(request(percent="lots")) == "invalid_percent"
    assert refused_code(request(justification="")) == "justification_required"
    assert refused_code(request(code="NOPE")) == "not_needed"
    for user in (liaison, other_user):
        with pytest.raises(PermissionDenied):
            request(user=user)()
    request()()
    assert refused_code(request()) == "already_requested"
    assert OverrideRequest.objects.count() == 1


def test_override_request_refuses_for_the_submission_state_before_the_form(provider, provider_user, october, tst1):
    superseded = make_submission(provider, october, status="superseded")
    add_warnings(superseded, "TST1", 10)

    def request(submission, **kw):
        args = {"code": "TST1", "percent": "abc", "justification": "", "user": provider_user}
        return lambda: services.override_request(submission=submission, **{**args, **kw})

    current = make_submission(provider, october)
    add_warnings(current, "TST1", 10)
    with time_machine.travel(london(2024, 10, 1, 12), tick=False):
        # Correcting the percentage or the justification would not help: say what would.
        assert refused_code(request(superseded)) == "not_current"
        assert refused_code(request(superseded, percent="200", justification="Why.")) == "not_current"
        assert refused_code(request(current)) == "justification_required"
        assert refused_code(request(current, justification="Why.")) == "invalid_percent"
    with time_machine.travel(london(2024, 11, 4, 17, 0), tick=False):
        assert refused_code(request(current)) == "collection_closed"
    assert not OverrideRequest.objects.exists()


def test_override_not_needed_within_tolerance(provider, provider_user, collection, tst1):
    submission = make_submission(provider, collection)
    add_warnings(submission, "TST1", 2)
    assert (
        refused_code(
            lambda: services.override_request(
                submission=submission, code="TST1", percent=2, justification="x", user=provider_user
            )
        )
        == "not_needed"
    )


# -- queries that must be answered before approval ---------------------------------------------


def test_blocking_query_must_have_a_provider_response(provider, approver, provider_user, liaison, collection):
    submission = make_submission(provider, collection)
    query = services.query_raise(
        submission=submission, user=liaison, subject="Check 5b: 40 gender changes", body="Please confirm.",
        rule_code="HIN5b", blocks_approval=True,
    )  # fmt: skip
    assert refused_code(lambda: services.submission_approve(submission=submission, user=approver)) == (
        "query_unanswered"
    )
    # It belongs to the collection: a newer upload is blocked too.
    newer = make_submission(provider, collection)
    assert selectors.approval_blockers(submission=newer) == [
        'Answer the query "Check 5b: 40 gender changes" before approving.'
    ]
    services.query_respond(query=query, user=provider_user, body="They are right.")
    services.query_reopen(query=query, user=liaison, body="Which campus?")
    assert selectors.approval_blockers(submission=newer)
    services.query_respond(query=query, user=provider_user, body="Cheltenham.")
    services.submission_approve(submission=newer, user=approver)


def test_non_blocking_query_does_not_stop_approval(provider, approver, liaison, collection):
    submission = make_submission(provider, collection)
    services.query_raise(submission=submission, user=liaison, subject="FYI", body="Just checking.")
    services.submission_approve(submission=submission, user=approver)


# -- through the real pipeline -----------------------------------------------------------------


def upload(provider, user, collection, content=None):
    content = content or student_record(student())
    submission = SubmissionFactory(
        provider=provider, uploaded_by=user, collection=collection, file=ContentFile(content, name="r.xml")
    )
    submission_process(submission_id=submission.pk, task_id=f"t-{submission.pk}")
    submission.refresh_from_db()
    return submission


def test_later_upload_leaves_the_approved_submission_approved_until_the_new_one_is(
    provider, approver, provider_user, liaison, collection
):
    first = upload(provider, provider_user, collection)
    assert first.status == "passed"
    services.submission_approve(submission=first, user=approver)
    services.collection_sign_off(provider=provider, collection=collection, user=liaison)
    assert selectors.collection_state(provider=provider, collection=collection).state == "signed_off"

    second = upload(provider, provider_user, collection)
    assert second.status == "passed"
    assert Submission.objects.get(pk=first.pk).status == "approved"
    state = selectors.collection_state(provider=provider, collection=collection)
    assert state.state == "updated" and state.approval.submission_id == first.pk
    assert SignOff.objects.get().reopened_at is not None  # the pipeline reopened the sign-off
    assert AuditEvent.objects.filter(action="sign_off.reopened").count() == 1

    third = upload(provider, provider_user, collection, student_record(student(HUSID="9811681234563")))
    assert third.status == "failed"
    assert Submission.objects.get(pk=second.pk).status == "superseded"
    assert Submission.objects.get(pk=first.pk).status == "approved"

    fourth = upload(provider, provider_user, collection)
    services.submission_approve(submission=fourth, user=approver)
    assert Submission.objects.get(pk=first.pk).status == "superseded"
    assert list(Submission.objects.filter(status="approved")) == [fourth]
    assert QueryMessage.objects.count() == 0


def test_approve_refused_if_pipeline_superseded_it_meanwhile(provider, approver, collection, monkeypatch):
    submission = make_submission(provider, collection)
    # The newer upload's verdict lands between the checks and the claim.
    real = selectors.approval_refusals

    def racing(**kw):
        found = real(**kw)
        Submission.objects.filter(pk=submission.pk).update(status="superseded")
        return found

    monkeypatch.setattr(selectors, "approval_refusals", racing)
    assert refused_code(lambda: services.submission_approve(submission=submission, user=approver)) == "not_current"
    assert not Approval.objects.exists()
