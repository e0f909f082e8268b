"""Writes for review and approval (keyword-only service functions). Each records an audit event.

States of a provider's collection (review.selectors.collection_state; the liaison grid's cells):

    none        no upload yet
    processing  the newest upload is queued or being processed
    failed      the newest upload was rejected, failed or stopped with an error (real status kept)
    passed      the newest upload passed: an approver may approve it
    approved    approved (approved_late: approved after the approval deadline, shown as late)
    updated     approved, but a later upload has completed since ("updated since approval"): the
                approved submission stays approved, and is the approved data, until the new one is
    signed_off  liaison signed off the approved collection: the last state

Transitions:

    upload completes            -> failed | passed; if approved: -> updated (and any sign-off reopens)
    submission_approve          passed (current upload) -> approved / approved_late; the previous
                                approval's submission becomes superseded (one approved per collection)
    collection_sign_off         approved / approved_late -> signed_off (liaison)
    collection_return           approved / signed_off -> approved with a blocking query (sign-off reopened)

Approval is refused (ActionRefused, with a message and code) when the collection has closed
(collection.closes_at), the submission is not the current passed upload, a warning is over its
tolerance with no approved override covering it, or a query marked "must be answered before
approval" has no provider response. See review.selectors.approval_refusals.

Tolerances: a warning rule's tolerance (a percentage of the rule's records, or a count) comes
from the rule's code unless liaison set one for the collection (tolerance_set; zero: any warning
blocks). Shares are compared exactly; shown percentages are rounded (selectors.percent_of).

Override requests: pending -> approved | refused (override_decide, liaison). An approved
override covers the rule for later uploads of the collection while its percentage stays within.

Queries: open (provider's turn) -> answered (query_respond) -> closed (query_accept, liaison);
query_reopen (liaison): answered | closed -> open. Liaison may also accept an open query. Every
message is kept as a QueryMessage.

Reminders (tasks, daily): approval reminders 14, 7 and 1 London days before the approval
deadline and on the final-updates day, and a liaison digest; each claimed as a ReminderSent row.

Notifications (review.notifications): the services below, and the receivers of the pipeline's
submission_completed and submission_rejected, email the people concerned once their transaction commits, each kind a
user preference (on unless turned off); also claimed as ReminderSent rows, so never sent twice.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts import permissions
from accounts.models import Provider, Role, User
from collections_app.models import COMPLETED, Collection, Submission, SubmissionStatus
from collections_app.rules import get_rule
from collections_app.selectors import warning_counts
from collections_app.signals import submission_approved
from core.audit import audit_record
from core.errors import ActionRefused

from . import notifications, selectors
from .models import (
    Approval,
    NotificationPreference,
    OverrideRequest,
    OverrideStatus,
    Query,
    QueryKind,
    QueryMessage,
    QueryMessageKind,
    QueryStatus,
    ReminderSent,
    RuleTolerance,
    SignOff,
)

logger = logging.getLogger(__name__)

__all__ = [
    "ActionRefused",
    "collection_return",
    "collection_sign_off",
    "collection_updated",
    "override_decide",
    "override_request",
    "query_accept",
    "query_raise",
    "query_reopen",
    "query_respond",
    "liaison_digest_send",
    "notification_preferences_set",
    "reminders_send",
    "submission_approve",
    "submission_approve_historical",
    "submission_processed_notify",
    "tolerance_reset",
    "tolerance_set",
]


# Free text people write here (justifications, query messages) goes into emails and the audit log:
# long enough for any explanation, short enough that a pasted file is refused, not stored.
MAX_TEXT = 10_000


def _require_text(value: str, message: str, code: str, *, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if not value:
        raise ActionRefused(message, code=code)
    if len(value) > limit:
        raise ActionRefused(f"That is {len(value):,} characters; keep it to {limit:,}.", code="too_long")
    return value


def _lock_provider(provider_id) -> None:
    """Serialise review writes for one provider (row lock until the transaction ends)."""
    list(Provider.objects.select_for_update().filter(pk=provider_id).values_list("pk", flat=True))


def _check_not_closed(collection, what: str) -> None:
    if collection.phase() == "closed":
        raise ActionRefused(
            f"{collection.reference} closed on {selectors.uk_datetime_text(collection.closes_at)}: {what}",
            code="collection_closed",
        )


# -- approval ----------------------------------------------------------------------------------


def submission_approve(*, submission: Submission, user) -> Approval:
    """Approve the provider's current passed submission; supersede the previous approval."""
    permissions.require(
        permissions.can_approve_for(user, submission.provider),
        "Only an approver of the provider can approve its data.",
    )
    now = timezone.now()
    with transaction.atomic():
        # One approval at a time per provider: the check below and the claim see the same state.
        _lock_provider(submission.provider_id)
        submission.refresh_from_db()
        refusals = selectors.approval_refusals(submission=submission, at=now)
        if refusals:
            raise ActionRefused(" ".join(message for _, message in refusals), code=refusals[0][0])
        # The pipeline may supersede it meanwhile (a newer upload finishing): claim, don't assume.
        if not Submission.objects.filter(pk=submission.pk, status=SubmissionStatus.PASSED).update(
            status=SubmissionStatus.APPROVED
        ):
            raise ActionRefused(
                "A newer upload has completed since this one: approve the latest submission.", code="not_current"
            )
        late = now >= submission.collection.approval_deadline
        approval, previous = _approval_replace(submission=submission, user=user, now=now, late=late)
        audit_record(
            actor=user,
            action="submission.approved",
            summary=f"Approved submission {submission.pk} of {submission.collection.reference}"
            + (" after the approval deadline (late)" if late else ""),
            submission=submission,
            details={
                "sha256": submission.sha256,
                "late": late,
                "superseded_submission": previous.submission_id if previous else None,
            },
        )
        _announce_approval(submission)
        notifications.notify(
            kind="submission_approved",
            key=f"approved:{approval.pk}",
            # Liaison sign off next; the provider's other approvers learn their data is approved.
            users=notifications.liaison_staff()
            + [
                other
                for other in notifications.provider_staff(submission.provider_id, roles=(Role.PROVIDER_APPROVER,))
                if other.pk != user.pk
            ],
            context={
                "approval": approval,
                "submission": submission,
                "provider": submission.provider,
                "collection": submission.collection,
            },
            path=reverse("submission_detail", args=[submission.pk]),
            submission=submission,
        )
    return approval


def _announce_approval(submission: Submission) -> None:
    """Tell the apps that build on approved data (contacts: populations) once the approval has
    committed; robust: the approval stands whatever a listener does with it."""
    transaction.on_commit(lambda: submission_approved.send(sender=Submission, submission=submission), robust=True)


def _approval_replace(*, submission: Submission, user, now, late: bool) -> tuple[Approval, Approval | None]:
    """Record the approval of `submission` (already claimed as approved) and supersede the
    provider's previous approval of the collection, in the caller's transaction."""
    previous = (
        Approval.objects.select_for_update()
        .filter(provider=submission.provider_id, collection=submission.collection_id, superseded_at__isnull=True)
        .first()
    )
    if previous is not None:
        Submission.objects.filter(pk=previous.submission_id, status=SubmissionStatus.APPROVED).update(
            status=SubmissionStatus.SUPERSEDED, superseded_at=now
        )
        Approval.objects.filter(pk=previous.pk).update(superseded_at=now)
        _reopen_sign_off(submission.provider_id, submission.collection_id, "A newer submission was approved.")
    approval = Approval.objects.create(
        submission=submission,
        provider_id=submission.provider_id,
        collection_id=submission.collection_id,
        approved_by=user,
        approved_at=now,
        sha256=submission.sha256,
        late=late,
    )
    if previous is not None:
        Approval.objects.filter(pk=previous.pk).update(superseded_by=approval)
    submission.status = SubmissionStatus.APPROVED
    return approval, previous


def submission_approve_historical(*, submission: Submission, user) -> Approval:
    """Record a historical year loaded by `manage.py import_history` as the provider's approved
    data (whatever the pipeline's verdict: it is what the agency holds), superseding any earlier
    approval of that collection. For operators, not a screen: no deadline or tolerance applies."""
    if submission.status not in (*COMPLETED, SubmissionStatus.APPROVED):
        raise ActionRefused("Only a submission whose records were stored can be approved.", code="not_stored")
    now = timezone.now()
    with transaction.atomic():
        _lock_provider(submission.provider_id)
        Submission.objects.filter(pk=submission.pk).update(status=SubmissionStatus.APPROVED)
        approval, previous = _approval_replace(submission=submission, user=user, now=now, late=False)
        audit_record(
            actor=user,
            action="submission.imported_approved",
            summary=f"Imported submission {submission.pk} as the approved {submission.collection.reference} data",
            submission=submission,
            details={
                "sha256": submission.sha256,
                "superseded_submission": previous.submission_id if previous else None,
            },
        )
        _announce_approval(submission)
    return approval


def collection_updated(*, submission: Submission) -> None:
    """Called by the pipeline when an upload completes as the current one: a sign-off of the
    collection no longer covers the provider's latest data, so it reopens (and the provider's
    approvers and the liaison who signed off are told)."""
    sign_offs = list(
        SignOff.objects.select_for_update()
        .filter(provider=submission.provider_id, collection=submission.collection_id, reopened_at__isnull=True)
        .select_related("signed_off_by", "approval")
    )
    if _reopen_sign_off(submission.provider_id, submission.collection_id, f"Submission {submission.pk} completed."):
        audit_record(
            actor=None,
            action="sign_off.reopened",
            summary=f"Sign-off reopened: submission {submission.pk} was uploaded after it",
            submission=submission,
        )
        for sign_off in sign_offs:
            notifications.notify(
                kind="sign_off_reopened",
                key=f"sign-off-reopened:{sign_off.pk}",
                users=notifications.provider_staff(submission.provider_id, roles=(Role.PROVIDER_APPROVER,))
                + [sign_off.signed_off_by],
                context={
                    "sign_off": sign_off,
                    "submission": submission,
                    "provider": submission.provider,
                    "collection": submission.collection,
                },
                path=reverse("submission_detail", args=[submission.pk]),
                submission=submission,
            )


def submission_processed_notify(*, submission: Submission) -> None:
    """Called by the pipeline when an upload completes as the current one (passed or failed) or is
    rejected: the uploader is told the verdict once it has committed (the runner's transaction)."""
    submission.refresh_from_db()
    notifications.notify(
        kind="submission_processed",
        key=f"processed:{submission.pk}",
        users=[submission.uploaded_by],
        context={"submission": submission, "provider": submission.provider, "collection": submission.collection},
        path=reverse("submission_detail", args=[submission.pk]),
        submission=submission,
    )


def _reopen_sign_off(provider_id, collection_id, reason: str) -> int:
    return SignOff.objects.filter(provider=provider_id, collection=collection_id, reopened_at__isnull=True).update(
        reopened_at=timezone.now(), reopened_reason=reason[:300]
    )


# -- tolerances ---------------------------------------------------------------------------------


MAX_TOLERANCE_COUNT = 10_000_000  # records: more than any submission holds


def _warning_rule(collection: Collection, code: str):
    rule = get_rule(code)
    if rule is None or rule.is_error or rule.record_kind != collection.kind:
        raise ActionRefused(
            f"{collection.reference} has no warning rule {code}: only warnings have a tolerance.", code="unknown_rule"
        )
    return rule


def tolerance_set(*, collection: Collection, code: str, user, percent=None, count=None) -> RuleTolerance:
    """Liaison sets a warning rule's tolerance for a collection (replacing the rule's default):
    exactly one of `percent` (of the rule's records, 0-100, at most 2 places) or `count` (0 to
    MAX_TOLERANCE_COUNT). Zero means any outstanding warning blocks approval. Audited with the
    previous value. tolerance_reset goes back to the rule's default."""
    permissions.require(permissions.is_liaison(user), "Only Liaison can set a tolerance.")
    _warning_rule(collection, code)
    given_percent, given_count = percent not in (None, ""), count not in (None, "")
    if given_percent and given_count:
        raise ActionRefused(
            "Give either a percentage of records or a number of records, not both.", code="percent_or_count"
        )
    if not given_percent and not given_count:
        raise ActionRefused("Give a percentage of records or a number of records.", code="percent_or_count")
    if given_percent:
        try:
            percent = Decimal(str(percent).strip())
        except (InvalidOperation, ValueError):
            raise ActionRefused("Give the percentage as a number, e.g. 2.5.", code="invalid_percent") from None
        # Refuse rather than round: a stored tolerance must be exactly what liaison meant. The range
        # first: quantizing a huge number (1E+999999) is itself an error.
        if not percent.is_finite() or not 0 <= percent <= 100 or percent != percent.quantize(selectors.CENT):
            raise ActionRefused(
                "The percentage must be from 0 to 100 with at most 2 decimal places.", code="invalid_percent"
            )
        percent, count = percent.quantize(selectors.CENT), None
    else:
        try:
            count = int(str(count).strip())
        except ValueError:
            raise ActionRefused("Give the number of records as a whole number.", code="invalid_count") from None
        if not 0 <= count <= MAX_TOLERANCE_COUNT:
            raise ActionRefused(
                f"The number of records must be from 0 to {MAX_TOLERANCE_COUNT:,}.", code="invalid_count"
            )
        percent = None
    previous = selectors.tolerance_of(code, selectors.tolerances_for(collection_id=collection.pk))
    with transaction.atomic():
        tolerance, _ = RuleTolerance.objects.update_or_create(
            collection=collection,
            code=code,
            defaults={"percent": percent, "count": count, "updated_by": user, "updated_at": timezone.now()},
        )
        current = selectors.tolerance_of(code, selectors.tolerances_for(collection_id=collection.pk))
        audit_record(
            actor=user,
            action="tolerance.set",
            summary=f"Tolerance of check {code} in {collection.reference} set to {current} (was {previous})",
            collection=collection,
            details={
                "code": code,
                "percent": None if percent is None else str(percent),
                "count": count,
                "previous": str(previous),
                "previous_source": previous.source,
            },
        )
    return tolerance


def tolerance_reset(*, collection: Collection, code: str, user) -> bool:
    """Liaison removes the collection's tolerance for a warning rule: the rule's default applies
    again. Returns whether there was one; resetting a rule already on its default changes nothing
    and is not audited."""
    permissions.require(permissions.is_liaison(user), "Only Liaison can reset a tolerance.")
    _warning_rule(collection, code)
    with transaction.atomic():
        stored = selectors.tolerances_for(collection_id=collection.pk).get(code)
        if not RuleTolerance.objects.filter(collection=collection, code=code).delete()[0]:
            return False
        current = selectors.tolerance_of(code, {})  # the rule's default, or zero
        audit_record(
            actor=user,
            action="tolerance.reset",
            summary=f"Tolerance of check {code} in {collection.reference} reset to the check's default, {current} "
            f"(was {stored})",
            collection=collection,
            details={"code": code, "previous": str(stored), "current": str(current), "current_source": current.source},
        )
    return True


# -- tolerance overrides -----------------------------------------------------------------------


def override_request(*, submission: Submission, code: str, percent, justification: str, user) -> OverrideRequest:
    """Ask liaison to accept a warning above its tolerance, for `percent` of records affected."""
    permissions.require(
        permissions.is_staff_of(user, submission.provider),
        "Only the provider's own staff can request an override.",
    )
    # The submission's state first: no point correcting the form on an upload that cannot have one.
    _check_not_closed(submission.collection, "overrides can no longer be requested.")
    if submission.status not in (*COMPLETED, SubmissionStatus.APPROVED):
        raise ActionRefused("Request overrides on the current upload: open the latest submission.", code="not_current")
    justification = _require_text(
        justification, "Give a justification: say why the data is right as it is.", "justification_required"
    )
    try:
        percent = Decimal(str(percent)).quantize(selectors.CENT)
    except (InvalidOperation, ValueError):
        raise ActionRefused("Give the percentage of records affected as a number.", code="invalid_percent") from None
    if not Decimal(0) < percent <= Decimal(100):
        raise ActionRefused(
            "The percentage of records affected must be above 0 and at most 100.", code="invalid_percent"
        )
    rule = get_rule(code)
    counts = warning_counts(submission=submission).get(code)
    if rule is None or rule.is_error or counts is None or counts.outstanding <= 0:
        raise ActionRefused(
            f"Check {code} has no outstanding warnings on this submission: no override is needed.", code="not_needed"
        )
    row = next((r for r in selectors.warnings_over_tolerance(submission=submission) if r.code == code), None)
    if row is None or not row.blocks_approval:
        raise ActionRefused(
            f"Check {code} is within its tolerance or already covered by an override: no override is needed.",
            code="not_needed",
        )
    if not selectors.share_within(row.outstanding, row.records, percent):
        needed = selectors.percent_needed(row.outstanding, row.records)
        raise ActionRefused(
            f"{row.outstanding:,} of {row.records:,} records ({row.percent_text}) fail check {code} on this "
            f"submission: ask for at least {needed}%.",
            code="percent_too_low",
        )
    try:
        with transaction.atomic():
            override = OverrideRequest.objects.create(
                submission=submission,
                provider_id=submission.provider_id,
                collection_id=submission.collection_id,
                code=code,
                percent=percent,
                justification=justification,
                requested_by=user,
            )
    except IntegrityError:
        raise ActionRefused(
            f"An override for check {code} is already waiting for Liaison's decision.", code="already_requested"
        ) from None
    audit_record(
        actor=user,
        action="override.requested",
        summary=f"Override requested for check {code} ({percent}% of records)",
        submission=submission,
        details={"override": override.pk, "code": code, "percent": str(percent), "justification": justification},
    )
    notifications.notify(
        kind="override_requested",
        key=f"override-requested:{override.pk}",
        # No liaison owns a provider: any of them may decide.
        users=notifications.liaison_staff(),
        context={"override": override, "provider": submission.provider, "collection": submission.collection},
        path=f"{reverse('override_list')}?provider={submission.provider.ukprn}",
        submission=submission,
    )
    return override


def override_decide(*, override: OverrideRequest, approve: bool, message: str, user) -> OverrideRequest:
    """Liaison approves or refuses a pending override request (a refusal must say why)."""
    permissions.require(permissions.is_liaison(user), "Only Liaison can decide on an override.")
    message = (message or "").strip()
    if not approve and not message:
        raise ActionRefused("Say why the override is refused: the provider sees your message.", code="message_required")
    status = OverrideStatus.APPROVED if approve else OverrideStatus.REFUSED
    now = timezone.now()
    with transaction.atomic():
        if not OverrideRequest.objects.filter(pk=override.pk, status=OverrideStatus.PENDING).update(
            status=status, decided_by=user, decided_at=now, decision_message=message
        ):
            raise ActionRefused("This override request has already been decided.", code="already_decided")
        override.refresh_from_db()
        audit_record(
            actor=user,
            action=f"override.{status}",
            summary=f"Override for check {override.code} ({override.percent}% of records) {status}",
            submission=override.submission,
            details={"override": override.pk, "message": message},
        )
        notifications.notify(
            kind="override_decided",
            key=f"override-decided:{override.pk}",
            users=[override.requested_by],
            context={"override": override, "collection": override.collection, "provider": override.provider},
            path=reverse("submission_detail", args=[override.submission_id]),
            submission=override.submission,
        )
    return override


# -- queries -----------------------------------------------------------------------------------


def approved_rerun_check(*, submission: Submission, was: str) -> bool:
    """After a re-run of an approved submission (in the re-run's verdict transaction): it stays
    approved, but if a warning is now over its tolerance with no override covering it (or the
    runner found errors), it is marked `approved_no_longer_passes` for liaison. Returns the mark."""
    if was != SubmissionStatus.APPROVED:
        return False
    over = selectors.warnings_over_tolerance(submission=submission, only_blocking=True)
    no_longer = bool(submission.error_count) or bool(over)
    Submission.objects.filter(pk=submission.pk).update(approved_no_longer_passes=no_longer)
    submission.approved_no_longer_passes = no_longer
    if no_longer:
        reasons = [f"{submission.error_count:,} errors"] if submission.error_count else []
        reasons += [f"check {row.code} over its tolerance ({row.percent_text})" for row in over]
        audit_record(
            actor=None,
            action="approval.no_longer_passes",
            summary=f"Approved submission {submission.pk} no longer passes after a re-run: {'; '.join(reasons)}. "
            "It stays approved; Liaison decides.",
            submission=submission,
            details={"errors": submission.error_count, "over_tolerance": [row.code for row in over]},
        )
    return no_longer


# A query's record as the XSDs define it: HUSID 13 digits, NUMHUS 1-20 characters with no XML
# whitespace (compared as an exact string). ASCII digits only: Python's \d takes any script's.
HUSID_FORMAT = re.compile(r"[0-9]{13}")
NUMHUS_FORMAT = re.compile(r"[^ \t\r\n]{1,20}")


def _query_record(*, submission: Submission, husid: str, numhus: str) -> tuple[str, str]:
    """The HUSID and NUMHUS a query is pinned to, checked: well formed and a record of the submission."""
    husid, numhus = (husid or "").strip(), (numhus or "").strip()
    if not husid and not numhus:
        return "", ""
    if not husid:
        raise ActionRefused(
            "Give the record's HUSID with its NUMHUS, or leave both empty to ask about the whole submission.",
            code="husid_required",
        )
    if not HUSID_FORMAT.fullmatch(husid):
        raise ActionRefused("A HUSID is 13 digits: copy it from the record, or leave it empty.", code="invalid_husid")
    if numhus and not NUMHUS_FORMAT.fullmatch(numhus):
        raise ActionRefused(
            "A NUMHUS is 1 to 20 characters with no spaces: copy it from the record, or leave it empty.",
            code="invalid_numhus",
        )
    if selectors.record_in_submission(submission=submission, husid=husid, numhus=numhus) is False:
        record = f"HUSID {husid}" + (f" and NUMHUS {numhus}" if numhus else "")
        raise ActionRefused(
            f"Submission {submission.pk} has no record with {record}: check the record, or leave HUSID and "
            "NUMHUS empty to ask about the whole submission.",
            code="record_not_found",
        )
    return husid, numhus


def query_raise(
    *,
    submission: Submission,
    user,
    subject: str,
    body: str,
    rule_code: str = "",
    husid: str = "",
    numhus: str = "",
    blocks_approval: bool = False,
    kind: str = QueryKind.QUERY,
) -> Query:
    """Liaison raises a query on a submission, optionally pinned to a rule or a record (HUSID/NUMHUS,
    which must be one of the submission's records)."""
    permissions.require(permissions.is_liaison(user), "Only Liaison can raise a query.")
    subject = _require_text(subject, "Give the query a subject.", "subject_required", limit=200)
    body = _require_text(body, "Write the query: say what the provider should check.", "body_required")
    husid, numhus = _query_record(submission=submission, husid=husid, numhus=numhus)
    rule_code = (rule_code or "").strip()
    if rule_code and get_rule(rule_code) is None:
        raise ActionRefused(
            f"There is no rule {rule_code}: choose one from the list, or leave it empty.", code="unknown_rule"
        )
    now = timezone.now()
    with transaction.atomic():
        query = Query.objects.create(
            submission=submission,
            provider_id=submission.provider_id,
            collection_id=submission.collection_id,
            kind=kind,
            subject=subject,
            rule_code=rule_code,
            husid=husid,
            numhus=numhus,
            blocks_approval=blocks_approval,
            raised_by=user,
            raised_at=now,
            updated_at=now,
        )
        QueryMessage.objects.create(query=query, kind=QueryMessageKind.RAISED, author=user, body=body, created_at=now)
        audit_record(
            actor=user,
            action="query.raised",
            summary=f'Query raised: "{query.subject}"'
            + (" (must be answered before approval)" if blocks_approval else ""),
            submission=submission,
            details={"query": query.pk, "rule_code": query.rule_code, "husid": query.husid, "numhus": query.numhus},
        )
        notifications.notify(
            kind="query_raised",
            key=f"query-raised:{query.pk}",
            users=notifications.provider_staff(submission.provider_id),
            context={"query": query, "provider": submission.provider, "collection": submission.collection},
            path=reverse("query_detail", args=[query.pk]),
            submission=submission,
        )
    return query


def _query_move(*, query: Query, user, body: str, kind: str, from_statuses, to_status: str, refusal: str) -> Query:
    now = timezone.now()
    with transaction.atomic():
        if not Query.objects.filter(pk=query.pk, status__in=from_statuses).update(
            status=to_status, updated_at=now, closed_at=now if to_status == QueryStatus.CLOSED else None
        ):
            raise ActionRefused(refusal, code="wrong_state")
        message = QueryMessage.objects.create(query=query, kind=kind, author=user, body=body, created_at=now)
        query.refresh_from_db()
        audit_record(
            actor=user,
            action=f"query.{kind}",
            summary=f'Query "{query.subject}": {QueryMessageKind(kind).label.lower()}',
            submission=query.submission,
            details={"query": query.pk},
        )
        # A response goes to the liaison who raised the query; a reopened query waits for the provider
        # again (and may block approval): it goes to whoever a raised one goes to.
        recipients = {
            QueryMessageKind.RESPONSE: ("query_answered", lambda: [query.raised_by]),
            QueryMessageKind.REOPENED: ("query_reopened", lambda: notifications.provider_staff(query.provider_id)),
        }
        if kind in recipients:
            notice, users = recipients[kind]
            notifications.notify(
                kind=notice,
                key=f"{notice.replace('_', '-')}:{message.pk}",
                users=users(),
                context={
                    "query": query,
                    "message": message,
                    "provider": query.provider,
                    "collection": query.collection,
                },
                path=reverse("query_detail", args=[query.pk]),
                submission=query.submission,
            )
    return query


def query_respond(*, query: Query, user, body: str) -> Query:
    """The provider responds; the query waits for Liaison (answered). A further response is allowed."""
    permissions.require(
        permissions.is_staff_of(user, query.provider),
        "Only the provider's own staff can respond to a query.",
    )
    body = _require_text(body, "Write your response.", "body_required")
    return _query_move(
        query=query,
        user=user,
        body=body,
        kind=QueryMessageKind.RESPONSE,
        from_statuses=UNRESOLVED,
        to_status=QueryStatus.ANSWERED,
        refusal="This query is closed: Liaison must reopen it before you can respond.",
    )


def query_accept(*, query: Query, user, body: str = "") -> Query:
    """Liaison accepts the answer and closes the query."""
    permissions.require(permissions.is_liaison(user), "Only Liaison can accept a query.")
    return _query_move(
        query=query,
        user=user,
        body=(body or "").strip(),
        kind=QueryMessageKind.ACCEPTED,
        from_statuses=UNRESOLVED,
        to_status=QueryStatus.CLOSED,
        refusal="This query is already closed.",
    )


def query_reopen(*, query: Query, user, body: str) -> Query:
    """Liaison sends an answered or closed query back to the provider, saying what is still needed."""
    permissions.require(permissions.is_liaison(user), "Only Liaison can reopen a query.")
    body = _require_text(body, "Say what the provider still needs to do.", "body_required")
    return _query_move(
        query=query,
        user=user,
        body=body,
        kind=QueryMessageKind.REOPENED,
        from_statuses=(QueryStatus.ANSWERED, QueryStatus.CLOSED),
        to_status=QueryStatus.OPEN,
        refusal="This query is already waiting for the provider.",
    )


UNRESOLVED = (QueryStatus.OPEN, QueryStatus.ANSWERED)


# -- sign-off ----------------------------------------------------------------------------------


def collection_sign_off(*, provider, collection, user) -> SignOff:
    """Liaison signs off the provider's approved collection: the last state."""
    permissions.require(permissions.is_liaison(user), "Only Liaison can sign off a collection.")
    with transaction.atomic():
        _lock_provider(provider.pk)
        state = selectors.collection_state(provider=provider, collection=collection)
        if state.approval is None:
            raise ActionRefused(
                f"{provider.name} has not approved {collection.reference}: only approved data can be signed off.",
                code="not_approved",
            )
        if state.state == "signed_off":
            raise ActionRefused(f"{collection.reference} is already signed off for {provider.name}.", code="signed_off")
        if state.state == "updated":
            raise ActionRefused(
                f"{provider.name} has uploaded since approving {collection.reference}: wait for them to approve "
                "the new submission, or return the collection with a query.",
                code="updated_since_approval",
            )
        if state.open_queries:
            raise ActionRefused(
                f"{state.open_queries} quer{'ies are' if state.open_queries != 1 else 'y is'} still open: accept "
                "or resolve them before signing off.",
                code="open_queries",
            )
        sign_off = SignOff.objects.create(
            provider=provider, collection=collection, approval=state.approval, signed_off_by=user
        )
        audit_record(
            actor=user,
            action="collection.signed_off",
            summary=f"{collection.reference} signed off for {provider.name} "
            f"(approved submission {state.approval.submission_id})",
            provider=provider,
            collection=collection,
            submission=state.approval.submission,
            details={"sign_off": sign_off.pk},
        )
        notifications.notify(
            kind="signed_off",
            key=f"signed-off:{sign_off.pk}",
            users=notifications.provider_staff(provider.pk, roles=(Role.PROVIDER_APPROVER,)),
            context={"sign_off": sign_off, "provider": provider, "collection": collection},
            path=reverse("collection_detail", args=[collection.reference]),
            provider=provider,
            collection=collection,
        )
    return sign_off


def collection_return(*, provider, collection, user, subject: str, body: str) -> Query:
    """Liaison returns the approved collection instead of signing it off: a query the provider must
    answer before approving again. The approved data stands; a sign-off, if any, is reopened."""
    permissions.require(permissions.is_liaison(user), "Only Liaison can return a collection.")
    approval = selectors.current_approval(provider=provider, collection=collection)
    if approval is None:
        raise ActionRefused(
            f"{provider.name} has not approved {collection.reference}: raise a query on a submission instead.",
            code="not_approved",
        )
    with transaction.atomic():
        query = query_raise(
            submission=approval.submission,
            user=user,
            subject=subject,
            body=body,
            blocks_approval=True,
            kind=QueryKind.RETURN,
        )
        _reopen_sign_off(provider.pk, collection.pk, f"Returned with query {query.pk}.")
        audit_record(
            actor=user,
            action="collection.returned",
            summary=f"{collection.reference} returned to {provider.name} with a query",
            provider=provider,
            collection=collection,
            submission=approval.submission,
            details={"query": query.pk},
        )
    return query


# -- deadline reminders ------------------------------------------------------------------------

# Approval reminders go out this many London calendar days before the approval deadline. A
# missed day (beat down) catches up: each reminder covers the days up to the next one.
REMINDER_DAYS = (14, 7, 1)


def _reminder_band(days_left: int) -> int | None:
    for days in sorted(REMINDER_DAYS):
        if 0 <= days_left <= days:
            return days
    return None


def _approver_emails(provider_id) -> list[str]:
    return sorted(
        User.objects.filter(provider=provider_id, role=Role.PROVIDER_APPROVER, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )


def _send_once(
    *, key: str, kind: str, recipients: list[str], template: str, context: dict, provider=None, collection=None
) -> bool:
    """Claim the reminder's row, then send it; a re-run (or a concurrent run) finds the row and
    sends nothing. A failed send rolls the claim back, so the next run tries again."""
    if not recipients:
        return False
    subject, _, body = render_to_string(template, context).strip().partition("\n")
    try:
        with transaction.atomic():
            ReminderSent.objects.create(
                key=key, kind=kind, provider=provider, collection=collection, recipients=recipients
            )
            send_mail(subject.strip(), body.strip() + "\n", None, recipients)
            audit_record(
                actor=None,
                action="reminder.sent",
                summary=f"Reminder sent: {subject.strip()}",
                provider=provider,
                collection=collection,
                details={"key": key, "recipients": recipients},
            )
    except IntegrityError:
        return False
    except Exception:
        logger.exception("reminder %s could not be sent", key)
        return False
    return True


def reminders_send(*, now=None) -> int:
    """Approval reminders to each provider's approvers (14, 7 and 1 days before the approval
    deadline, while not approved) and on the final-updates deadline's day (while the latest data
    is not approved). Safe to run any number of times a day; returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for row in selectors.providers_at_risk(now=now):
        collection, provider = row.collection, row.provider
        context = {"collection": collection, "provider": provider, "status": row.status, "days_left": row.days_left}
        if collection.phase(now) == "open" and row.status.state in selectors.NOT_APPROVED:
            band = _reminder_band(row.days_left)
            if band is not None:
                sent += _send_once(
                    # The deadline is in the key: if liaison moves it, its reminders go out again.
                    key=f"approval-{band}:{collection.pk}:{provider.pk}:{timezone.localdate(collection.approval_deadline)}",
                    kind=f"approval_{band}",
                    recipients=_approver_emails(provider.pk),
                    template="review/email/approval_reminder.txt",
                    context=context,
                    provider=provider,
                    collection=collection,
                )
        final = collection.final_updates_deadline
        if final and final > collection.approval_deadline and timezone.localdate(final) == timezone.localdate(now):
            sent += _send_once(
                key=f"final-day:{collection.pk}:{provider.pk}:{timezone.localdate(final)}",
                kind="final_day",
                recipients=_approver_emails(provider.pk),
                template="review/email/final_updates_reminder.txt",
                context=context,
                provider=provider,
                collection=collection,
            )
    return sent


def liaison_digest_send(*, now=None) -> int:
    """Once a day: one email to liaison listing the providers at risk of missing a deadline."""
    now = now or timezone.now()
    rows = selectors.providers_at_risk(now=now)
    if not rows:
        return 0
    recipients = sorted(
        User.objects.filter(role=Role.LIAISON, is_active=True).exclude(email="").values_list("email", flat=True)
    )
    today = timezone.localdate(now)
    return int(
        _send_once(
            key=f"liaison-digest:{today.isoformat()}",
            kind="liaison_digest",
            recipients=recipients,
            template="review/email/liaison_digest.txt",
            context={"rows": rows, "today": today},
        )
    )


# -- notification preferences ------------------------------------------------------------------


def notification_preferences_set(*, user, enabled: set[str] | list[str]) -> list[str]:
    """Save which notification emails the user wants: each kind offered to their role is on if it
    is in `enabled`, off otherwise. Returns the kinds turned off."""
    enabled = set(enabled)
    offered = [kind.code for kind in notifications.kinds_for(user)]
    with transaction.atomic():
        for code in offered:
            NotificationPreference.objects.update_or_create(user=user, kind=code, defaults={"enabled": code in enabled})
        off = [code for code in offered if code not in enabled]
        audit_record(
            actor=user,
            action="notification.preferences_set",
            summary="Notification emails: " + (f"turned off {', '.join(off)}" if off else "all on"),
            details={"off": off},
        )
    return off
