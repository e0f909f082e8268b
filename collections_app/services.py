"""Writes for collections and submissions (keyword-only service functions)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import date_format

from audit.services import audit_record
from portal.accounts import permissions
from portal.accounts.models import Provider

from .models import (
    COMPLETED,
    Collection,
    CollectionKind,
    RuleFailure,
    Severity,
    Stage,
    Submission,
    SubmissionStatus,
    WarningConfirmation,
)
from .pipeline.xmlsafe import encoding_problem

logger = logging.getLogger(__name__)

# A submission whose worker has not reported for this long is taken to be lost. Longer than
# the broker's visibility timeout, so a redelivered task gets its chance to resume first.
STALLED_AFTER = timedelta(hours=2)


class UploadRefused(Exception):
    """An upload that is refused before any work: nothing is stored."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def _local(dt) -> str:
    return date_format(timezone.localtime(dt), "DATETIME_FORMAT")


def collection_check_open(*, collection: Collection, at=None) -> None:
    at = at or timezone.now()
    phase = collection.phase(at)
    if phase == "not_open":
        raise UploadRefused(
            f"{collection.reference} is not open yet: uploads open on {_local(collection.opens)}.",
            code="collection_not_open",
        )
    if phase == "closed":
        raise UploadRefused(
            f"{collection.reference} closed on {_local(collection.closes_at)}: uploads are no longer "
            "accepted. Contact Liaison if you need to change approved data.",
            code="collection_closed",
        )


def _check_file(uploaded_file: UploadedFile) -> None:
    if uploaded_file.size == 0:
        raise UploadRefused(
            "The file is empty. Choose the XML file exported from your student records system.", code="empty_file"
        )
    if uploaded_file.size > settings.MAX_UPLOAD_BYTES:
        raise UploadRefused(
            f"The file is {filesizeformat(uploaded_file.size)}; the limit is "
            f"{filesizeformat(settings.MAX_UPLOAD_BYTES)}.",
            code="file_too_large",
        )
    uploaded_file.seek(0)
    head = uploaded_file.read(1024)
    uploaded_file.seek(0)
    problem = encoding_problem(head)
    if problem:
        raise UploadRefused(problem, code="not_utf8")
    start = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not start.startswith(b"<"):
        raise UploadRefused(
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
        raise UploadRefused("You can only upload for your own provider.", code="forbidden")
    if collection.kind != CollectionKind.STUDENT_RECORD:
        raise UploadRefused("Contact details files cannot be processed by the portal yet.", code="kind_not_supported")
    collection_check_open(collection=collection, at=at)
    _check_file(uploaded_file)

    with transaction.atomic():
        submission = submission_store(
            provider=provider,
            collection=collection,
            user=user,
            file=uploaded_file,
            original_name=uploaded_file.name or "upload.xml",
        )
        _enqueue(submission)
    logger.info("submission %s accepted from %s", submission.pk, user)
    return submission


def submission_retry(*, submission: Submission, user) -> Submission:
    """Queue a submission that stopped with a processing error to run again from the start."""
    if not permissions.can_upload_for(user, submission.provider):
        raise UploadRefused("You can only retry your own provider's submissions.", code="forbidden")
    with transaction.atomic():
        claimed = Submission.objects.filter(pk=submission.pk, status=SubmissionStatus.ERROR).update(
            status=SubmissionStatus.QUEUED, stage=Stage.QUEUED, progress=0, task_id="", error_message=""
        )
        if not claimed:
            raise UploadRefused(
                "Only a submission that stopped with a processing error can be retried.", code="not_retryable"
            )
        submission.refresh_from_db()
        _enqueue(submission)
    return submission


def _enqueue(submission: Submission) -> None:
    from .tasks import process_submission

    # Only once the row is committed can a worker see it.
    transaction.on_commit(lambda: process_submission.delay(submission.pk))


def submissions_mark_stalled(*, now=None) -> int:
    """Move processing submissions whose worker went silent to `error`, so they can be retried."""
    now = now or timezone.now()
    return Submission.objects.filter(status=SubmissionStatus.PROCESSING, heartbeat_at__lt=now - STALLED_AFTER).update(
        status=SubmissionStatus.ERROR,
        error_message="Processing stopped without finishing (the worker was lost). Retry to run it again.",
        finished_at=now,
    )


class ActionRefused(Exception):
    """A write the portal refuses, with a message that says why and what to do instead."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def warning_confirm(*, submission: Submission, failure_ids: list[int], reason: str, user) -> int:
    """Confirm warnings of `submission` as data quality improvements; return how many.
    Each confirmation carries forward to later uploads of the collection that report the same
    value for the same record (see WarningConfirmation). Re-confirming is harmless."""
    permissions.require(
        permissions.is_provider_staff(user) and permissions.can_upload_for(user, submission.provider),
        "Only the provider's own staff can confirm a warning.",
    )
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused("Give a reason: say why the data is right.", code="reason_required")
    if submission.status not in (*COMPLETED, SubmissionStatus.APPROVED):
        raise ActionRefused(
            "Only the current upload's warnings can be confirmed: open the latest submission.", code="not_current"
        )
    if submission.collection.phase() == "closed":
        raise ActionRefused(
            f"{submission.collection.reference} is closed: warnings can no longer be confirmed.",
            code="collection_closed",
        )
    failures = RuleFailure.objects.filter(submission=submission, pk__in=failure_ids, severity=Severity.WARNING)
    if len(set(failure_ids)) != failures.count():
        raise ActionRefused("Only this submission's warnings can be confirmed.", code="not_a_warning")
    # A record confirmed before keeps its first confirmation (who, when and why).
    WarningConfirmation.objects.bulk_create(
        [
            WarningConfirmation(
                provider_id=submission.provider_id,
                collection_id=submission.collection_id,
                code=failure.code,
                husid=failure.husid,
                numhus=failure.numhus,
                value=failure.value,
                reason=reason,
                submission=submission,
                confirmed_by=user,
            )
            for failure in failures
        ],
        ignore_conflicts=True,
    )
    audit_record(
        actor=user,
        action="warning.confirmed",
        summary=f"Confirmed {len(failures):,} warning{'s' if len(failures) != 1 else ''} on submission "
        f"{submission.pk} as right: {reason}",
        submission=submission,
        details={"failure_ids": sorted(f.pk for f in failures), "codes": sorted({f.code for f in failures})},
    )
    return len(failures)
