"""Stored records for review tests that pin a query to one (without running the pipeline)."""

from datetime import date

from collections_app.pipeline.ids import record_id
from contacts.models import Graduate
from student_record.models import Instance, Student


def add_student_record(submission, husid, numhus="1", *, position=1):
    """One Student with one Instance, as the pipeline stores them, at `position` in the file."""
    student = Student.objects.create(
        id=record_id(submission.pk, position), submission=submission, line=position * 10, husid=husid,
        fnames="Ada", surname="Lovelace", birthdte=date(2000, 1, 1), gender="F", ethnic="10",
    )  # fmt: skip
    return Instance.objects.create(
        id=record_id(submission.pk, position + 1), submission=submission, student=student,
        line=position * 10 + 5, husid=husid, numhus=numhus, qualaim="21", ptitle="BSc Maths",
        comdate=date(2023, 9, 25), mode="01",
    )  # fmt: skip


def add_graduate(submission, husid, numhus="1", *, position=1):
    return Graduate.objects.create(
        id=record_id(submission.pk, position), submission=submission, line=position, husid=husid, numhus=numhus
    )
