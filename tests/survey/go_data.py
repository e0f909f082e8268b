"""Hand-built contact details data for the feed and coverage tests: rows written straight to
go_graduate / go_detail (ids as the pipeline makes them), approvals written as review records them."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from collections_app.models import CollectionKind, SubmissionStatus
from collections_app.pipeline.ids import record_id
from contacts.models import ContactDetail, Graduate, PopulationBuild, PopulationEntry
from review.models import Approval

from .. import factories


def contact_collection(reference="C23071", *, year=2023, cohort="A"):
    return factories.CollectionFactory(
        reference=reference,
        name=f"Graduate Outcomes contact details {year}/{str(year + 1)[-2:]} cohort {cohort}",
        kind=CollectionKind.CONTACT_DETAILS,
        reporting_year=year,
        cohort=cohort,
    )


def email(value, **kw):
    return {"detail_type": "EMAIL", "value": value, **kw}


def phone(element, e164, number_type="", **kw):
    return {"detail_type": element, "value": e164, "number_type": number_type, **kw}


def contact_submission(provider, collection, graduates, *, status=SubmissionStatus.PASSED, user=None):
    """graduates: [(husid, numhus, gradstatus, [detail dicts])], written in that (file) order."""
    submission = factories.SubmissionFactory(
        provider=provider,
        collection=collection,
        status=status,
        **({"uploaded_by": user} if user else {}),
    )
    position, line = 0, 1
    rows, details = [], []
    for husid, numhus, gradstatus, given in graduates:
        position += 1
        line += 1
        graduate_id = record_id(submission.pk, position)
        rows.append(
            Graduate(
                id=graduate_id,
                submission_id=submission.pk,
                line=line,
                husid=husid,
                numhus=numhus,
                gradstatus=gradstatus,
            )
        )
        for detail in given:
            position += 1
            line += 1
            value = detail["value"]
            is_email = detail["detail_type"] == "EMAIL"
            details.append(
                ContactDetail(
                    id=record_id(submission.pk, position),
                    submission_id=submission.pk,
                    graduate_id=graduate_id,
                    line=line,
                    husid=husid,
                    numhus=numhus,
                    detail_type=detail["detail_type"],
                    value=value,
                    normalised=value.strip().lower() if is_email else value,
                    domain=value.strip().lower().rsplit("@", 1)[-1] if is_email else "",
                    number_type=detail.get("number_type", ""),
                    region="" if is_email else detail.get("region", "GB"),
                    problem=detail.get("problem", ""),
                    role_mailbox=detail.get("role_mailbox", False),
                    dummy=detail.get("dummy", False),
                )
            )
    Graduate.objects.bulk_create(rows)
    ContactDetail.objects.bulk_create(details)
    return submission


def approve(submission, user, *, at=None):
    """What review.services records on approval, at a chosen time: the previous approval superseded."""
    at = at or timezone.now()
    previous = Approval.objects.filter(
        provider=submission.provider, collection=submission.collection, superseded_at__isnull=True
    ).first()
    if previous is not None:
        type(submission).objects.filter(pk=previous.submission_id).update(status=SubmissionStatus.SUPERSEDED)
        Approval.objects.filter(pk=previous.pk).update(superseded_at=at)
    approval = Approval.objects.create(
        submission=submission,
        provider=submission.provider,
        collection=submission.collection,
        approved_by=user,
        approved_at=at,
        sha256=submission.sha256,
    )
    if previous is not None:
        Approval.objects.filter(pk=previous.pk).update(superseded_by=approval)
    type(submission).objects.filter(pk=submission.pk).update(status=SubmissionStatus.APPROVED)
    submission.status = SubmissionStatus.APPROVED
    return approval


def population(provider, collection, source, entries):
    """A current population build: entries [(husid, numhus, homeeuos)]."""
    build = PopulationBuild.objects.create(
        provider=provider, collection=collection, source_submission=source, graduate_count=len(entries)
    )
    PopulationEntry.objects.bulk_create(
        PopulationEntry(
            build=build,
            husid=husid,
            numhus=numhus,
            fnames="Pat",
            surname=f"Grad{husid[-3:]}",
            qual1="01",
            dateleft=date(2023, 9, 1),
            homeeuos=homeeuos,
        )
        for husid, numhus, homeeuos in entries
    )
    return build


def minutes_ago(n):
    return timezone.now() - timedelta(minutes=n)
