"""Builders for the contact details tests: a contact collection, and a "processed" submission whose
go_graduate / go_detail rows are written directly (as the pipeline would, ids by position), so the
screens and services can be tested without the parser."""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from collections_app import kinds
from collections_app.models import CollectionKind
from collections_app.pipeline.ids import record_id
from collections_app.pipeline.parsing import ParseOutcome
from contacts.models import ContactDetail, Graduate
from contacts.xmlwrite import GraduateDetails, write_contact_details

from ..factories import CollectionFactory, SubmissionFactory


def contact_collection(reference="C23071", **fields):
    now = timezone.now()
    return CollectionFactory(
        reference=reference,
        name="Graduate Outcomes contact details 2023/24, cohort A",
        kind=CollectionKind.CONTACT_DETAILS,
        reporting_year=2023,
        **{"cohort": "A", "opens": now - timedelta(days=30), "approval_deadline": now + timedelta(days=30), **fields},
    )


def normalise(element: str, value: str) -> str:
    """Close enough to the real normaliser for tests: emails trimmed and lower-cased, UK phones in E.164."""
    if element == "EMAIL":
        return value.strip().lower()
    digits = re.sub(r"\D", "", value)
    if value.strip().startswith("+"):
        return "+" + digits
    return "+44" + digits.lstrip("0")


def graduate(husid, numhus="1", gradstatus="", **details) -> GraduateDetails:
    """graduate("…", EMAIL=["a@x"], UKMOB=["07…"])"""
    return GraduateDetails(husid=husid, numhus=numhus, gradstatus=gradstatus, details=details)


def contact_file(graduates, *, recid="23071", ukprn="10007794") -> bytes:
    out = io.StringIO()
    write_contact_details(out, recid=recid, ukprn=ukprn, graduates=graduates)
    return out.getvalue().encode()


def contact_submission(provider, collection, user, graduates, *, status="failed"):
    """A completed submission of `graduates` (GraduateDetails), its rows written as the loader would:
    one Graduate per graduate, one ContactDetail per value, lines as in the file."""
    graduates = list(graduates)
    submission = SubmissionFactory(
        provider=provider,
        collection=collection,
        uploaded_by=user,
        status=status,
        stage="done",
        original_name="contacts.xml",
        file=ContentFile(contact_file(graduates, recid=collection.recid, ukprn=provider.ukprn), name="c.xml"),
    )
    line, detail_position, graduate_rows, detail_rows = 5, 0, [], []
    for position, g in enumerate(graduates, start=1):
        line += 1
        row = Graduate(
            id=record_id(submission.pk, position),
            submission=submission,
            line=line,
            husid=g.husid,
            numhus=g.numhus,
            gradstatus=g.gradstatus,
        )
        graduate_rows.append(row)
        line += 2 + bool(g.gradstatus)
        for element in ("EMAIL", "UKMOB", "UKTEL", "INTTEL"):
            for value in g.details.get(element, []):
                line += 1
                detail_position += 1
                detail_rows.append(
                    ContactDetail(
                        id=record_id(submission.pk, detail_position),
                        submission=submission,
                        graduate_id=row.id,
                        line=line,
                        husid=g.husid,
                        numhus=g.numhus,
                        detail_type=element,
                        value=value,
                        normalised=normalise(element, value),
                        domain=value.rsplit("@", 1)[-1].lower() if element == "EMAIL" else "",
                    )
                )
        line += 1
    Graduate.objects.bulk_create(graduate_rows)
    ContactDetail.objects.bulk_create(detail_rows)
    return submission


def _parse_nothing(path, *, submission_id, streams, progress, error_cap) -> ParseOutcome:
    return ParseOutcome()


@contextmanager
def contact_kind_registered():
    """Uploads to a contact collection are refused until the contacts kind is registered (by the
    parser's branch). Where it is not, a stand-in is registered for the test: these tests look at the
    queued submission and its file, never at what the pipeline makes of it."""
    if kinds.is_registered(CollectionKind.CONTACT_DETAILS):
        yield
        return
    kinds.register(
        kinds.RecordKind(
            kind=CollectionKind.CONTACT_DETAILS, label="Contact details (stand-in)", tables={}, parse=_parse_nothing
        )
    )
    try:
        yield
    finally:
        kinds.unregister(CollectionKind.CONTACT_DETAILS)
