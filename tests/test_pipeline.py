"""The ingest pipeline end to end: verdicts, rejections, idempotent stages."""

import io
import os
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from collections_app.models import RuleFailure, RuleResult, SchemaError, Submission
from collections_app.pipeline.ownership import claim
from collections_app.pipeline.runner import submission_process
from collections_app.rules.engine import run_rules
from student_record.models import Instance, Student
from student_record.sample_data import write_student_record

from .factories import SubmissionFactory
from .xmlbuild import VALID_HUSID, instance, student, student_record


def submit(provider, user, collection, content: bytes, *, task_id="task-1") -> Submission:
    submission = SubmissionFactory(
        provider=provider,
        uploaded_by=user,
        collection=collection,
        file=ContentFile(content, name="record.xml"),
        size=len(content),
    )
    submission_process(submission_id=submission.pk, task_id=task_id)
    submission.refresh_from_db()
    return submission


def stored_rows(submission) -> int:
    return (
        Student.objects.filter(submission=submission).count()
        + Instance.objects.filter(submission=submission).count()
        + RuleFailure.objects.filter(submission=submission).count()
    )


def generated(provider, *, instances=40, defect_rate=0.0, seed=3) -> bytes:
    out = io.StringIO()
    write_student_record(
        out, instances=instances, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
        reporting_year=2023, seed=seed, defect_rate=defect_rate,
    )  # fmt: skip
    return out.getvalue().encode()


class TestVerdicts:
    def test_clean_file_passes_and_stores_every_record(self, provider, provider_user, collection):
        submission = submit(provider, provider_user, collection, generated(provider))
        assert submission.status == "passed", submission.error_message
        assert submission.stage == "done" and submission.progress == 100
        assert submission.instance_count == 40
        assert Instance.objects.filter(submission=submission).count() == 40
        assert Student.objects.filter(submission=submission).count() == submission.student_count
        assert submission.error_count == 0
        assert RuleResult.objects.filter(submission=submission).count() >= 7
        assert "No previous-year data" in submission.stage_message

    def test_file_with_rule_errors_fails_and_counts_them(self, provider, provider_user, collection):
        submission = submit(provider, provider_user, collection, generated(provider, instances=200, defect_rate=0.2))
        assert submission.status == "failed"
        assert submission.error_count == RuleFailure.objects.filter(submission=submission, severity="error").count()
        assert submission.error_count > 0

    def test_schema_error_rejects_with_line_and_stores_nothing(self, provider, provider_user, collection):
        content = student_record(student(instance(COMDATE="2022-13-40")), student(GENDER="Q"))
        submission = submit(provider, provider_user, collection, content)
        assert submission.status == "rejected"
        assert stored_rows(submission) == 0
        errors = list(SchemaError.objects.filter(submission=submission))
        assert submission.schema_error_count == len(errors) == 2
        by_path = {e.path: e for e in errors}
        comdate = by_path["/StudentRecord/Institution/Student[1]/Instance/COMDATE"]
        assert comdate.line == 18  # the COMDATE element's own line in the file
        assert "2022-13-40" in comdate.message
        assert "/StudentRecord/Institution/Student[2]/GENDER" in by_path

    def test_wrong_collection_or_provider_in_header_is_rejected(self, provider, provider_user, collection):
        submission = submit(
            provider, provider_user, collection, student_record(student(), recid="22051", ukprn="10000002")
        )
        assert submission.status == "rejected"
        messages = " ".join(SchemaError.objects.filter(submission=submission).values_list("message", flat=True))
        assert "RECID 22051" in messages and "UKPRN 10000002" in messages
        assert stored_rows(submission) == 0

    def test_missing_file_leaves_a_retryable_error_not_processing(self, provider, provider_user, collection):
        submission = SubmissionFactory(provider=provider, uploaded_by=provider_user, collection=collection)
        os.remove(submission.file.path)  # e.g. a worker without the shared media volume
        submission_process(submission_id=submission.pk, task_id="t")
        submission.refresh_from_db()
        assert submission.status == "error"
        assert "FileNotFoundError" in submission.error_message
        assert submission.finished_at is not None

    def test_newer_completed_upload_supersedes_older(self, provider, provider_user, collection):
        first = submit(provider, provider_user, collection, generated(provider, seed=1))
        second = submit(provider, provider_user, collection, generated(provider, seed=2, instances=30))
        first.refresh_from_db()
        assert first.status == "superseded"
        assert second.status == "passed"
        assert second.previous_submission_id == first.pk
        assert second.records_added is not None and second.records_removed is not None
        # The older upload's rows are untouched by the newer one.
        assert Instance.objects.filter(submission=first).count() == 40

    def test_changes_since_previous_upload(self, provider, provider_user, collection):
        before = student_record(
            student(instance(NUMHUS="1"), instance(NUMHUS="2")),
            student(instance(), HUSID="9811681234573", FNAMES="Ann"),
        )
        after = student_record(
            student(instance(NUMHUS="1", PTITLE="BSc Mathematics"), instance(NUMHUS="3")),
            student(instance(), HUSID="9811681234573", FNAMES="Ann"),
        )
        submit(provider, provider_user, collection, before)
        second = submit(provider, provider_user, collection, after)
        assert (second.records_added, second.records_removed, second.records_changed) == (1, 1, 1)


HOSTILE_FILES = {
    "malformed": b"<StudentRecord><Institution><RECID>23051</RECID></StudentRecord>",
    "xxe": (
        b'<?xml version="1.0"?>\n<!DOCTYPE StudentRecord [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        b"<StudentRecord><Institution><RECID>23051</RECID><INSTID>0168</INSTID><UKPRN>10007794</UKPRN>"
        b"<Student><HUSID>&xxe;</HUSID></Student></Institution></StudentRecord>"
    ),
    "billion_laughs": (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode() for i in range(1, 10)
        )
        + b"]>\n<StudentRecord><Institution><RECID>&lol9;</RECID></Institution></StudentRecord>"
    ),
    "wrong_root": b'<?xml version="1.0"?>\n<Student><HUSID>9811681234562</HUSID></Student>',
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_hostile_and_malformed_files_are_rejected_with_nothing_stored(name, provider, provider_user, collection):
    submission = submit(provider, provider_user, collection, HOSTILE_FILES[name])
    assert submission.status == "rejected", submission.error_message
    assert stored_rows(submission) == 0
    errors = list(SchemaError.objects.filter(submission=submission))
    assert errors and all(e.message for e in errors)
    assert "root:" not in " ".join(e.message for e in errors)  # /etc/passwd never read


def test_schema_error_list_is_capped(settings, provider, provider_user, collection):
    settings.SCHEMA_ERROR_CAP = 5
    content = student_record(*[student(GENDER="Q", HUSID=VALID_HUSID) for _ in range(12)])
    submission = submit(provider, provider_user, collection, content)
    assert SchemaError.objects.filter(submission=submission).count() == 5, list(
        SchemaError.objects.values_list("message")
    )
    assert submission.schema_error_count == 12


class TestIdempotence:
    def test_rules_stage_run_twice_stores_failures_once(self, provider, provider_user, collection):
        submission = submit(provider, provider_user, collection, generated(provider, instances=200, defect_rate=0.2))
        before = RuleFailure.objects.filter(submission=submission).count()
        run_rules(submission)
        assert RuleFailure.objects.filter(submission=submission).count() == before > 0
        assert RuleResult.objects.filter(submission=submission, code="SR.HIN.01").count() == 1

    def test_redelivered_task_reruns_to_the_same_rows(self, provider, provider_user, collection):
        submission = submit(provider, provider_user, collection, generated(provider, instances=60, defect_rate=0.2))
        snapshot = sorted(Instance.objects.filter(submission=submission).values_list("id", "husid", "numhus"))
        failures = sorted(RuleFailure.objects.filter(submission=submission).values_list("code", "line", "husid"))
        # A worker died after claiming (its heartbeat stopped): the broker hands the same task id
        # to another worker.
        Submission.objects.filter(pk=submission.pk).update(
            status="processing", stage="rules", heartbeat_at=timezone.now() - timedelta(minutes=1)
        )
        submission_process(submission_id=submission.pk, task_id="task-1")
        submission.refresh_from_db()
        assert submission.status == "failed"
        assert sorted(Instance.objects.filter(submission=submission).values_list("id", "husid", "numhus")) == snapshot
        assert (
            sorted(RuleFailure.objects.filter(submission=submission).values_list("code", "line", "husid")) == failures
        )

    def test_finished_job_is_not_claimed_again(self, provider, provider_user, collection):
        submission = submit(provider, provider_user, collection, generated(provider))
        assert not claim(submission.pk, "task-1")
        assert not claim(submission.pk, "another-task")

    def test_processing_job_is_not_taken_by_a_different_task(self, provider, provider_user, collection):
        submission = SubmissionFactory(provider=provider, uploaded_by=provider_user, collection=collection)
        assert claim(submission.pk, "a")
        assert not claim(submission.pk, "b")
        # "a" again: its worker died and the broker redelivered it; it waits for a silent heartbeat.
        Submission.objects.filter(pk=submission.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=1))
        assert claim(submission.pk, "a")
