"""Hand-counted Student record files for the credibility tests (see test_tables.py for the counts)."""

import pytest
from django.core.files.base import ContentFile

from collections_app.models import Submission, SubmissionStatus

from ..factories import CollectionFactory, SubmissionFactory
from ..xmlbuild import instance, student, student_record

PREVIOUS_RECID, CURRENT_RECID = "22051", "23051"


def husid(n: int) -> str:
    """A valid HUSID for person n (the spec's check digit: weights 1, 3, 7, 9 repeating)."""
    body = f"98{n:010d}"
    total = sum(int(d) * (1, 3, 7, 9)[k % 4] for k, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def people(count: int, *, start: int, gender="F", ethnic="10", **instance_fields) -> list[dict]:
    return [
        student(
            instance(**instance_fields),
            HUSID=husid(n),
            FNAMES=f"Person{n}",
            SURNAME=f"Surname{n}",
            BIRTHDTE="2000-01-01",
            GENDER=gender,
            ETHNIC=ethnic,
        )
        for n in range(start, start + count)
    ]


def previous_students() -> list[dict]:
    """2022/23: 200 UG full-time UK entrants; 20 PG part-time EU leavers (RSNLEAVE 01)."""
    return [
        *people(200, start=1, QUALAIM="21", MODE="01", DOMICILE="XF", COMDATE="2022-09-20"),
        *people(
            20, start=1001, gender="M", ethnic="15", QUALAIM="05", MODE="31", DOMICILE="FR",
            COMDATE="2021-09-20", RSNLEAVE="01", DATELEFT="2023-06-30", POSTCODE=None,
        ),
    ]  # fmt: skip


def current_students(*, ug: int = 220) -> list[dict]:
    """2023/24: `ug` of the same UG full-time UK students (continuing: not entrants); 25 new PG
    dormant overseas students (GENDER X, ETHNIC 99); 5 new PG part-time leavers (RSNLEAVE 03),
    DOMICILE ZZ, GENDER M, ETHNIC 15."""
    return [
        *people(ug, start=1, QUALAIM="21", MODE="01", DOMICILE="XF", COMDATE="2022-09-20"),
        *people(
            25, start=2001, gender="X", ethnic="99", QUALAIM="05", MODE="64", DOMICILE="US",
            COMDATE="2023-10-01", POSTCODE=None,
        ),
        *people(
            5, start=3001, gender="M", ethnic="15", QUALAIM="05", MODE="31", DOMICILE="ZZ",
            COMDATE="2023-09-01", RSNLEAVE="03", DATELEFT="2024-01-10", POSTCODE=None,
        ),
    ]  # fmt: skip


@pytest.fixture
def years(db):
    previous = CollectionFactory(reference="C22051", name="Student record 2022/23", reporting_year=2022)
    current = CollectionFactory(reference="C23051", name="Student record 2023/24", reporting_year=2023)
    current.previous = previous
    current.save(update_fields=["previous"])
    return previous, current


def process(provider, user, collection, content: bytes) -> Submission:
    from collections_app.pipeline.runner import submission_process

    submission = SubmissionFactory(
        provider=provider, uploaded_by=user, collection=collection, file=ContentFile(content, name="r.xml")
    )
    submission_process(submission_id=submission.pk, task_id="t")
    submission.refresh_from_db()
    assert submission.status in ("passed", "failed"), (submission.status, submission.error_message)
    return submission


def approve(submission: Submission) -> Submission:
    Submission.objects.filter(pk=submission.pk).update(status=SubmissionStatus.APPROVED)
    submission.refresh_from_db()
    return submission


@pytest.fixture
def two_years(provider, provider_user, years):
    """(previous approved, current processed) submissions of the hand-counted files."""
    previous = approve(
        process(provider, provider_user, years[0], student_record(*previous_students(), recid=PREVIOUS_RECID))
    )
    current = process(provider, provider_user, years[1], student_record(*current_students(), recid=CURRENT_RECID))
    return previous, current
