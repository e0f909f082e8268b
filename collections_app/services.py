"""Writes for collections and submissions (keyword-only service functions)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import timedelta
from itertools import islice

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import date_format

from accounts import permissions
from accounts.models import Provider
from core import logs
from core.audit import audit_record
from core.errors import ActionRefused
from core.ids import is_id

from . import kinds, selectors
from .models import (
    COMPLETED,
    CURRENT_STATUSES,
    IN_FLIGHT,
    Collection,
    RuleFailure,
    Severity,
    Stage,
    Submission,
    SubmissionStatus,
    WarningConfirmation,
)
from .pipeline.ownership import given_up
from .pipeline.xmlsafe import encoding_problem
from .tasks import process_submission
from .uploads import file_too_large_message

logger = logging.getLogger(__name__)


LIAISON_UPLOAD_REFUSED = (
    "Only the provider's own staff can upload its return: liaison reviews the data but does not supply it. "
    "Ask the provider to upload the file."
)


def upload_refusal_message(user) -> str:
    """Why `user` may not upload for a provider (see permissions.can_upload_for)."""
    if permissions.is_liaison(user):
        return LIAISON_UPLOAD_REFUSED
    if permissions.is_provider_staff(user):
        return "You can only upload for your own provider."
    return "Your account has no provider, so it cannot upload."


def _local(dt) -> str:
    return date_format(timezone.localtime(dt), "DATETIME_FORMAT")


def collection_check_open(*, collection: Collection, at=None) -> None:
    at = at or timezone.now()
    phase = collection.phase(at)
    if phase == "not_open":
        raise ActionRefused(
            f"{collection.reference} is not open yet: uploads open on {_local(collection.opens)}.",
            code="collection_not_open",
        )
    if phase == "closed":
        raise ActionRefused(
            f"{collection.reference} closed on {_local(collection.closes_at)}: uploads are no longer "
            "accepted. Contact Liaison if you need to change approved data.",
            code="collection_closed",
        )


def upload_file_check(uploaded_file: UploadedFile) -> None:
    """Refuse a file no upload may be: empty, too large, not UTF-8, not XML (also the offline kit)."""
    if uploaded_file.size == 0:
        raise ActionRefused(
            "The file is empty. Choose the XML file exported from your student records system.", code="empty_file"
        )
    if uploaded_file.size > settings.MAX_UPLOAD_BYTES:
        # Second line of defence: UploadLimitHandler has normally stopped the upload already.
        raise ActionRefused(
            file_too_large_message(size=uploaded_file.size, limit=settings.MAX_UPLOAD_BYTES), code="file_too_large"
        )
    uploaded_file.seek(0)
    head = uploaded_file.read(1024)
    uploaded_file.seek(0)
    problem = encoding_problem(head)
    if problem:
        raise ActionRefused(problem, code="not_utf8")
    start = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not start.startswith(b"<"):
        raise ActionRefused(
            "This file is not XML. Upload the XML file for this collection (not a spreadsheet, ZIP or CSV).",
            code="not_xml",
        )


def submission_store(
    *, provider: Provider, collection: Collection, user, file: File, original_name: str, uploaded_at=None
) -> Submission:
    """Keep a file as a queued submission (SHA-256, size, who, when) and audit it; no checks.
    submission_create checks an upload first; operators' commands (import_history, bench, demo
    data) store files the agency already holds, whatever the collection's deadlines."""
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    submission = Submission(
        provider=provider,
        collection=collection,
        uploaded_by=user,
        uploaded_at=uploaded_at or timezone.now(),
        original_name=original_name[:255],
        sha256=digest.hexdigest(),
        size=file.size,
    )
    submission.file.save(f"{uuid.uuid4().hex}.xml", file, save=False)
    submission.save()
    audit_record(
        actor=user,
        action="submission.uploaded",
        summary=f"Uploaded {submission.original_name} ({filesizeformat(submission.size)}) "
        f"to {collection.reference} as submission {submission.pk}.",
        submission=submission,
        details={"sha256": submission.sha256, "size": submission.size, "name": submission.original_name},
    )
    return submission


def submission_create(
    *, collection: Collection, provider: Provider, user, uploaded_file: UploadedFile, at=None
) -> Submission:
    """Accept an upload: check it may be made, keep the raw file, queue the pipeline."""
    if not permissions.can_upload_for(user, provider):
        raise ActionRefused(upload_refusal_message(user), code="forbidden")
    if not kinds.is_registered(collection.kind):
        raise ActionRefused(
            f"{collection.get_kind_display()} files cannot be processed by the portal yet.", code="kind_not_supported"
        )
    collection_check_open(collection=collection, at=at)
    upload_file_check(uploaded_file)

    with transaction.atomic():
        submission = submission_store(
            provider=provider,
            collection=collection,
            user=user,
            file=uploaded_file,
            original_name=uploaded_file.name or "upload.xml",
        )
        # The rest of this request's log lines, and its task's (headers), carry the submission.
        logs.bind(submission_id=submission.pk, provider=provider.ukprn)
        _enqueue(submission)
    logger.info("submission %s accepted from %s", submission.pk, user)
    return submission


def submission_in_flight(*, provider: Provider, collection: Collection) -> Submission | None:
    """The provider's upload for the collection still queued or being processed, if any."""
    return (
        Submission.objects.filter(provider=provider, collection=collection, status__in=IN_FLIGHT).order_by("pk").first()
    )


def check_none_in_flight(*, provider: Provider, collection: Collection) -> None:
    """Refuse a change while an upload is still being processed: the two would race to be current."""
    running = submission_in_flight(provider=provider, collection=collection)
    if running is not None:
        raise ActionRefused(
            f"Submission {running.pk} is still being processed. Wait for its result, then try again.",
            code="in_flight",
        )


RECHECKABLE = (*COMPLETED, SubmissionStatus.APPROVED)


def submission_is_recheckable(*, submission: Submission, user, latest_status: str | None = None) -> bool:
    """Whether submission_recheck would accept it now (screens offer the button only then).
    `latest_status`: the status of the provider's newest upload for the collection, where the caller
    has it already (the submission page does), instead of asking whether one is in flight."""
    collection = submission.collection
    if not (
        submission.status in RECHECKABLE
        and permissions.can_upload_for(user, submission.provider)
        and collection.phase() not in ("closed", "not_open")
        and kinds.is_registered(collection.kind)
    ):
        return False
    if latest_status is not None:
        return latest_status not in IN_FLIGHT
    return submission_in_flight(provider=submission.provider, collection=collection) is None


def submission_recheck(*, submission: Submission, user) -> Submission:
    """Run the rules again on a file already uploaded, without uploading it again: a new submission
    of the same stored file (same file, SHA-256 and name; uploaded by `user`), queued through the
    same pipeline. What changed since is what the provider recorded meanwhile (a reason for a
    shared contact detail clears GO.EMAIL.10 / GO.PHONE.06 only when the rules run again)."""
    provider, collection = submission.provider, submission.collection
    if not permissions.can_upload_for(user, provider):
        raise ActionRefused(upload_refusal_message(user), code="forbidden")
    if submission.is_in_flight:
        raise ActionRefused(
            "This submission is still being processed: wait for its result before checking it again.",
            code="in_flight",
        )
    if submission.status not in RECHECKABLE:
        raise ActionRefused(
            "Only a submission that was checked to the end (failed, passed or approved) can be checked again. "
            "Upload a corrected file instead.",
            code="not_recheckable",
        )
    if not kinds.is_registered(collection.kind):
        raise ActionRefused(
            f"{collection.get_kind_display()} files cannot be processed by the portal yet.", code="kind_not_supported"
        )
    collection_check_open(collection=collection)
    with transaction.atomic():
        check_none_in_flight(provider=provider, collection=collection)
        again = Submission.objects.create(
            provider=provider,
            collection=collection,
            uploaded_by=user,
            file=submission.file.name,  # the stored file itself: nothing is copied or uploaded again
            original_name=submission.original_name,
            sha256=submission.sha256,
            size=submission.size,
        )
        audit_record(
            actor=user,
            action="submission.rechecked",
            summary=f"Checked {submission.original_name} of submission {submission.pk} again as submission "
            f"{again.pk}, without uploading it again.",
            submission=again,
            details={"sha256": again.sha256, "from_submission": submission.pk},
        )
        _enqueue(again)
    logger.info("submission %s re-checked as %s by %s", submission.pk, again.pk, user)
    return again


def submission_is_rerunnable(*, submission: Submission, user, current_id: int | None = None) -> bool:
    """Whether `user` may re-run the checks of `submission` in place (see submission_rerun).
    `current_id`: the provider's current submission's id, if the caller has it (saves a query)."""
    try:
        _rerun_check(submission=submission, user=user, current_id=current_id)
    except ActionRefused:
        return False
    return True


def _rerun_check(*, submission: Submission, user, current_id: int | None = None) -> None:
    if permissions.is_liaison(user):
        pass
    elif permissions.is_staff_of(user, submission.provider):
        if current_id is None:
            current = selectors.current_submission(provider=submission.provider, collection=submission.collection)
            current_id = current.pk if current else None
        if current_id != submission.pk:
            raise ActionRefused(
                "You can re-run the checks of your current submission only: this one has been replaced.",
                code="not_current",
            )
    else:
        raise ActionRefused("You can only re-run your own provider's submissions.", code="forbidden")
    if submission.is_in_flight:
        raise ActionRefused(
            "This submission is still being processed: wait for its result before re-running its checks.",
            code="in_flight",
        )
    if submission.status not in RECHECKABLE:
        raise ActionRefused(
            "Only a submission whose records were stored and checked (failed, passed or approved) can be re-run.",
            code="not_rerunnable",
        )
    if not kinds.is_registered(submission.collection.kind):
        raise ActionRefused(
            f"{submission.collection.get_kind_display()} files cannot be processed by the portal yet.",
            code="kind_not_supported",
        )


def submission_rerun(*, submission: Submission, user) -> Submission:
    """Run the rules, the kind's later stages (linking, credibility) and the verdict again on the
    records already stored, in place: the same submission is queued with `rerun_from_status` set,
    and the runner skips the schema and loading stages (pipeline/runner.py). Failures are replaced
    rule by rule in one transaction each, so a re-run stopped anywhere and run again ends with the
    same rows. An approved submission stays approved: if it no longer passes, the verdict marks it
    (`approved_no_longer_passes`) for liaison. Audited. Unlike submission_recheck, nothing new is
    created and the collection need not be open (liaison re-runs after a tolerance changes)."""
    _rerun_check(submission=submission, user=user)
    now = timezone.now()
    with transaction.atomic():
        check_none_in_flight(provider=submission.provider, collection=submission.collection)
        queued = Submission.objects.filter(pk=submission.pk, status=submission.status).update(
            **_queued_afresh(now),
            rerun_from_status=submission.status,
            rerun_count=F("rerun_count") + 1,
        )
        if not queued:
            raise ActionRefused("This submission changed meanwhile: reload the page and try again.", code="conflict")
        audit_record(
            actor=user,
            action="submission.rerun",
            summary=f"Re-running the checks of submission {submission.pk} ({submission.status}) on its stored "
            "records, without a new upload.",
            submission=submission,
            details={"from_status": submission.status},
        )
        submission.refresh_from_db()
        _enqueue(submission)
    logger.info("submission %s re-run by %s", submission.pk, user)
    return submission


def _queued_afresh(now) -> dict:
    """The fields that put a submission back in the queue to run from the start (retry, re-run,
    re-load): a new task, its attempts counted again, its task not yet sent (the sweep sends it
    if the send on commit fails)."""
    return {
        "status": SubmissionStatus.QUEUED,
        "stage": Stage.QUEUED,
        "progress": 0,
        "task_id": "",
        "error_message": "",
        "queued_at": now,
        "task_sent_at": None,
        "attempts": 0,
    }


def _seconds(value: float) -> str:
    minutes, seconds = divmod(int(value), 60)
    if minutes and not seconds:
        return "a minute" if minutes == 1 else f"{minutes} minutes"
    return f"{int(value)} seconds"


def _stale_queued(now) -> Q:
    """Queued for longer than a task takes to reach a worker with the broker up."""
    return Q(status=SubmissionStatus.QUEUED, queued_at__lte=now - timedelta(seconds=settings.PIPELINE_QUEUED_TIMEOUT))


def submission_is_retryable(*, submission: Submission, now=None) -> bool:
    """Stopped with a processing error, or still waiting to start (see submission_retry)."""
    now = now or timezone.now()
    return submission.status == SubmissionStatus.ERROR or (
        submission.status == SubmissionStatus.QUEUED
        and submission.queued_at <= now - timedelta(seconds=settings.PIPELINE_QUEUED_TIMEOUT)
    )


def submission_retry(*, submission: Submission, user) -> Submission:
    """Queue a submission to run again from the start: one that stopped with a processing error,
    or one still queued a minute after it was queued (its task never reached a worker). Sending a
    queued one's task again is harmless: whichever task a worker takes first runs it, once."""
    if not permissions.can_retry_for(user, submission.provider):
        raise ActionRefused("You can only retry your own provider's submissions.", code="forbidden")
    now = timezone.now()
    with transaction.atomic():
        claimed = (
            Submission.objects.filter(pk=submission.pk)
            .filter(Q(status=SubmissionStatus.ERROR) | _stale_queued(now))
            .update(**_queued_afresh(now))
        )
        if not claimed:
            raise ActionRefused(
                "Only a submission that stopped with a processing error, or one still waiting to start "
                f"{_seconds(settings.PIPELINE_QUEUED_TIMEOUT)} after it was queued, can be retried.",
                code="not_retryable",
            )
        submission.refresh_from_db()
        _enqueue(submission)
    return submission


def submission_reload(*, submission: Submission, user) -> Submission:
    """Bring back the record and failure rows retention removed, by running the kept file through
    the pipeline again as the same submission: the same ids, so the same failures. It stays
    superseded (the runner sees records_archived_at and changes nothing else)."""
    if not permissions.can_retry_for(user, submission.provider):
        raise ActionRefused("You can only re-load your own provider's submissions.", code="forbidden")
    if not submission.file:
        raise ActionRefused("This submission's file is no longer kept, so it cannot be re-loaded.", code="no_file")
    now = timezone.now()
    with transaction.atomic():
        claimed = Submission.objects.filter(
            pk=submission.pk, status=SubmissionStatus.SUPERSEDED, records_archived_at__isnull=False
        ).update(**_queued_afresh(now))
        if not claimed:
            raise ActionRefused("Only a submission whose records were archived can be re-loaded.", code="not_archived")
        audit_record(
            actor=user,
            action="submission.reload_requested",
            summary=f"Re-load of submission {submission.pk} requested: its archived records are loaded again.",
            provider=submission.provider,
            collection=submission.collection,
            submission=submission,
        )
        submission.refresh_from_db()
        _enqueue(submission)
    return submission


def _send(submission_id: int, *, task_id: str | None = None) -> bool:
    """Hand the submission's task to the broker; False if the broker cannot be reached."""
    try:
        process_submission.apply_async(args=[submission_id], task_id=task_id)
    except Exception as exc:  # any broker or network error: the submission stays queued for the sweep
        logger.warning(
            "submission %s: its task could not be sent to the broker (%s: %s); the sweep sends it again",
            submission_id,
            type(exc).__name__,
            exc,
        )
        return False
    return True


def _enqueue(submission: Submission) -> None:
    _send_on_commit(submission.pk)


def _send_on_commit(submission_id: int, *, task_id: str | None = None) -> None:
    """Send the submission's task once the row is committed (only then can a worker see it).
    A broker outage is logged, not raised: the upload is kept, queued, and submissions_sweep
    sends its task once the broker is back."""

    def send() -> None:
        if _send(submission_id, task_id=task_id):
            Submission.objects.filter(
                pk=submission_id, status=SubmissionStatus.QUEUED, task_sent_at__isnull=True
            ).update(task_sent_at=timezone.now())

    transaction.on_commit(send)


def submissions_sweep(*, now=None) -> dict[str, int]:
    """Keep every submission moving; beat runs it every PIPELINE_SWEEP_INTERVAL seconds
    (task collections.sweep_submissions), operators with `manage.py sweep_submissions`.

    - A processing job whose heartbeat stopped PIPELINE_HEARTBEAT_TIMEOUT seconds ago lost its
      worker: it is queued again under a new task id, so the old task can write nothing more (see
      pipeline.runner), and its task sent; after PIPELINE_MAX_ATTEMPTS runs it ends in `error`
      instead, for the provider to retry.
    - A queued submission whose task never reached the broker (an outage during the upload) is
      sent once PIPELINE_QUEUED_TIMEOUT seconds old; one sent but never started (the broker lost
      it) again every PIPELINE_RESEND_AFTER seconds. A task sent twice runs once (pipeline.ownership.claim).

    Returns how many were re-queued, put in error and sent."""
    now = now or timezone.now()
    swept = {"requeued": 0, "errored": 0, "sent": 0}
    silent_since = now - timedelta(seconds=settings.PIPELINE_HEARTBEAT_TIMEOUT)
    lost = Submission.objects.filter(status=SubmissionStatus.PROCESSING, heartbeat_at__lt=silent_since)
    fields = ("pk", "task_id", "heartbeat_at", "attempts", "rerun_from_status")
    for pk, task_id, heartbeat_at, attempts, rerun_from_status in lost.values_list(*fields):
        # Conditional on what was read: a worker that beats again, or another sweep, wins.
        still_lost = Submission.objects.filter(
            pk=pk, status=SubmissionStatus.PROCESSING, task_id=task_id, heartbeat_at=heartbeat_at
        )
        if attempts >= settings.PIPELINE_MAX_ATTEMPTS:
            if still_lost.update(**given_up(attempts, rerun_from_status, now)):
                logger.warning("submission %s: worker lost %s times; left in error", pk, attempts)
                swept["errored"] += 1
            continue
        new_task_id = str(uuid.uuid4())
        with transaction.atomic():
            if still_lost.update(
                status=SubmissionStatus.QUEUED,
                stage=Stage.QUEUED,
                progress=0,
                task_id=new_task_id,
                stage_message="The worker processing it was lost: queued to run again.",
                queued_at=now,
                task_sent_at=None,
            ):
                logger.warning("submission %s: task %s went silent; re-queued as %s", pk, task_id, new_task_id)
                swept["requeued"] += 1
                _send_on_commit(pk, task_id=new_task_id)

    unsent = Q(task_sent_at__isnull=True) | Q(task_sent_at__lt=now - timedelta(seconds=settings.PIPELINE_RESEND_AFTER))
    due = Submission.objects.filter(_stale_queued(now), unsent).order_by("queued_at", "pk")
    for pk, task_id, sent_at in due.values_list("pk", "task_id", "task_sent_at"):
        # Mark it sent first, so two sweeps send it once; unmark it if the broker refuses.
        was_sent = Q(task_sent_at=sent_at) if sent_at else Q(task_sent_at__isnull=True)
        if not Submission.objects.filter(was_sent, pk=pk, status=SubmissionStatus.QUEUED).update(task_sent_at=now):
            continue
        # A row re-queued after a lost worker waits for the task id it was given (pipeline.ownership.claim).
        if not _send(pk, task_id=task_id or None):
            Submission.objects.filter(pk=pk, task_sent_at=now).update(task_sent_at=sent_at)
            break  # the broker is down: the others wait for the next sweep
        swept["sent"] += 1
    return swept


MAX_REASON_LENGTH = 2000  # a confirmation's reason: kept with it, shown to liaison, written into the audit log
MAX_CONFIRM_IDS = 1000  # warnings ticked one by one in one request (a page at most); more: confirm all matching


def _warning_confirm_allowed(*, submission: Submission, reason: str, user) -> str:
    """The reason, stripped, once the user may confirm warnings of `submission` now."""
    permissions.require(
        permissions.is_staff_of(user, submission.provider),
        "Only the provider's own staff can confirm a warning.",
    )
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused("Give a reason: say why the data is right.", code="reason_required")
    if len(reason) > MAX_REASON_LENGTH:
        raise ActionRefused(
            f"The reason is {len(reason):,} characters long: shorten it to at most {MAX_REASON_LENGTH:,}.",
            code="reason_too_long",
        )
    if submission.status not in CURRENT_STATUSES:
        raise ActionRefused(
            "Only the current upload's warnings can be confirmed: open the latest submission.", code="not_current"
        )
    if submission.collection.phase() == "closed":
        raise ActionRefused(
            f"{submission.collection.reference} is closed: warnings can no longer be confirmed.",
            code="collection_closed",
        )
    return reason


def _lock_submission(submission: Submission) -> None:
    """Serialise confirmations on one submission (row lock until the transaction ends), so two at
    once count each newly confirmed warning once."""
    list(Submission.objects.select_for_update().filter(pk=submission.pk).values_list("pk", flat=True))


def _confirmations_store(*, submission: Submission, failures: QuerySet[RuleFailure], reason: str, user) -> None:
    # A record confirmed before keeps its first confirmation (who, when and why). Streamed in
    # batches: "confirm all matching" may cover tens of thousands of findings.
    rows = failures.values_list("code", "husid", "numhus", "value").order_by("id").iterator(chunk_size=2000)
    while batch := list(islice(rows, 2000)):
        WarningConfirmation.objects.bulk_create(
            [
                WarningConfirmation(
                    provider_id=submission.provider_id,
                    collection_id=submission.collection_id,
                    code=code,
                    husid=husid,
                    numhus=numhus,
                    value=value,
                    reason=reason,
                    submission=submission,
                    confirmed_by=user,
                )
                for code, husid, numhus, value in batch
            ],
            ignore_conflicts=True,
        )


def warning_confirm(*, submission: Submission, failure_ids: list[int], reason: str, user) -> int:
    """Confirm warnings of `submission` as data quality improvements; return how many were newly
    confirmed. Each confirmation carries forward to later uploads of the collection that report the
    same value for the same record (see WarningConfirmation). A warning confirmed before keeps its
    first confirmation (who, when and why) and is not counted; if every one was, nothing is audited."""
    reason = _warning_confirm_allowed(submission=submission, reason=reason, user=user)
    wanted = set(failure_ids)
    if len(wanted) > MAX_CONFIRM_IDS:
        raise ActionRefused(
            f"Confirm at most {MAX_CONFIRM_IDS:,} warnings at once, or confirm all that match a filter.",
            code="too_many",
        )
    # An id outside the database's range is nobody's warning (and would overflow the query).
    failures = RuleFailure.objects.filter(
        submission=submission, pk__in=[pk for pk in wanted if is_id(pk)], severity=Severity.WARNING
    )
    if len(wanted) != failures.count():
        raise ActionRefused("Only this submission's warnings can be confirmed.", code="not_a_warning")
    with transaction.atomic():
        _lock_submission(submission)
        new = list(
            selectors.with_confirmation(failures, submission=submission)
            .filter(confirmed=False)
            .only("pk", "code")
            .order_by("pk")
        )
        if not new:
            return 0
        _confirmations_store(
            submission=submission,
            failures=RuleFailure.objects.filter(pk__in=[f.pk for f in new]),
            reason=reason,
            user=user,
        )
        audit_record(
            actor=user,
            action="warning.confirmed",
            summary=f"Confirmed {len(new):,} warning{'s' if len(new) != 1 else ''} on submission "
            f"{submission.pk} as right: {reason}",
            submission=submission,
            details={
                "failure_ids": [f.pk for f in new],
                "codes": sorted({f.code for f in new}),
                "already_confirmed": len(wanted) - len(new),
            },
        )
    return len(new)


def warnings_confirm_matching(
    *, submission: Submission, failures: QuerySet[RuleFailure], described: str, reason: str, user
) -> int:
    """Confirm every warning of `submission` in `failures` (a filter a screen or the API built,
    `described` in words for the audit log) with one reason; return how many. Errors and other
    submissions' failures in the queryset are left out, not refused: the filter is the user's."""
    reason = _warning_confirm_allowed(submission=submission, reason=reason, user=user)
    failures = failures.filter(submission=submission, severity=Severity.WARNING)
    with transaction.atomic():
        _lock_submission(submission)
        count = failures.count()
        if not count:
            raise ActionRefused("No warning matches this filter: nothing to confirm.", code="nothing_matches")
        _confirmations_store(submission=submission, failures=failures, reason=reason, user=user)
        codes = sorted(set(failures.values_list("code", flat=True).distinct()))
        audit_record(
            actor=user,
            action="warning.confirmed",
            summary=f"Confirmed all {count:,} warning{'s' if count != 1 else ''} matching {described} on submission "
            f"{submission.pk} as right: {reason}",
            submission=submission,
            details={"matching": described, "count": count, "codes": codes},
        )
    return count
