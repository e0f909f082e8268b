"""`manage.py verify_store`: is the database consistent with the file store and with itself?
Run after a restore (README, "Backups") and whenever in doubt.

- every stored file is there and its SHA-256 is the one recorded at upload (Submission.sha256);
- every completed submission whose records are kept has the rows its recorded counts say
  (Student record: students and instances; contact details: graduates).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from django.db import connection

from collections_app.models import CollectionKind, Submission, SubmissionStatus
from contacts.models import Graduate
from student_record.models import Instance, Student

# The recorded count each kind's tables must match.
COUNTED = {
    CollectionKind.STUDENT_RECORD: (
        (Student._meta.db_table, "student_count"),
        (Instance._meta.db_table, "instance_count"),
    ),
    CollectionKind.CONTACT_DETAILS: ((Graduate._meta.db_table, "student_count"),),
}
# Statuses whose rows were committed (superseded ones until retention archives them).
STORED = (SubmissionStatus.FAILED, SubmissionStatus.PASSED, SubmissionStatus.APPROVED, SubmissionStatus.SUPERSEDED)


def file_sha256(submission: Submission) -> str:
    digest = hashlib.sha256()
    with submission.file.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_problems() -> Iterator[str]:
    for submission in Submission.objects.exclude(file="").order_by("pk").iterator():
        try:
            actual = file_sha256(submission)
        except OSError as exc:  # missing from the store (FileNotFoundError) or unreadable
            yield f"submission {submission.pk}: file {submission.file.name} cannot be read ({type(exc).__name__})"
            continue
        if actual != submission.sha256:
            yield (
                f"submission {submission.pk}: file {submission.file.name} has SHA-256 {actual}, "
                f"recorded {submission.sha256}"
            )


def _counts_by_submission(table: str) -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT submission_id, COUNT(*) FROM {table} GROUP BY submission_id")
        return dict(cursor.fetchall())


def row_problems() -> Iterator[str]:
    for kind, counted in COUNTED.items():
        submissions = Submission.objects.filter(
            collection__kind=kind, status__in=STORED, records_archived_at__isnull=True
        ).order_by("pk")
        for table, count_field in counted:
            actual = _counts_by_submission(table)
            for pk, expected in submissions.values_list("pk", count_field):
                found = actual.get(pk, 0)
                if found != expected:
                    yield f"submission {pk}: {table} has {found:,} rows, recorded {count_field} {expected:,}"


def store_problems() -> list[str]:
    return [*file_problems(), *row_problems()]
