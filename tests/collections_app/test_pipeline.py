"""The ingest pipeline end to end: verdicts, rejections, idempotent stages."""

import io
import os
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from collections_app.models import RuleFailure, RuleResult, SchemaError, Submission
from collections_app.pipeline.ownership import claim
from collections_app.pipeline.runner import submission_process
from collections_app.rules.engine import run_rules
from student_record.models import Instance, Student
from student_record.parse import parse_student_record
from student_record.sample_data import write_student_record

from ..factories import SubmissionFactory
from ..xmlbuild import VALID_HUSID, instance, student, student_record


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


def last_line(content: bytes) -> int:
    """The line the file's last byte is on, as the early-end message names it."""
    return content.count(b"\n") + (0 if content.endswith(b"\n") else 1)


def assert_ends_early(submission, content: bytes) -> None:
    assert submission.status == "rejected", (submission.status, submission.error_message)
    assert Student.objects.filter(submission=submission).count() == 0
    assert Instance.objects.filter(submission=submission).count() == 0
    errors = list(SchemaError.objects.filter(submission=submission))
    line = last_line(content)
    assert [(e.line, e.message) for e in errors] == [
        (line, f"The file ends early, at line {line:,}: it is incomplete. Upload the whole file.")
    ]
    assert submission.schema_error_count == 1


def _after(content: bytes, marker: bytes, *, start: int = 0, into: int = 0) -> int:
    """The offset just after (or `into` bytes inside) the first `marker` at or after `start`."""
    at = content.index(marker, start)
    return at + (into or len(marker))


# Where an upload was cut short. Defect 1: lxml's validating iterparse said nothing when the
# file stopped right after a closing tag, so the first two were accepted (half the students
# stored, "passed", approvable); the others were rejected, but as a schema or XML error.
TRUNCATIONS = {
    "just after a </Student> half way": lambda c: _after(c, b"</Student>", start=len(c) // 2),
    "inside the last </StudentRecord>": lambda c: len(c) - len(b"Record>\n"),
    "right after the XML declaration": lambda c: _after(c, b"?>\n"),
    "mid-tag": lambda c: _after(c, b"<BIRTHDTE>", start=len(c) // 3, into=5),
    "mid-text": lambda c: _after(c, b"<SURNAME>", start=len(c) // 3) + 2,
    "mid-end-tag": lambda c: _after(c, b"</Instance>", start=len(c) // 2, into=4),
    "after the last </Student>": lambda c: c.rindex(b"</Student>") + len(b"</Student>\n"),
    "half way, anywhere": lambda c: len(c) // 2,
}


class TestTruncatedFiles:
    @pytest.mark.parametrize("where", sorted(TRUNCATIONS))
    def test_a_file_cut_short_is_rejected_as_incomplete(self, where, provider, provider_user, collection):
        whole = generated(provider, instances=300)
        assert submit(provider, provider_user, collection, whole, task_id="whole").status == "passed"
        content = whole[: TRUNCATIONS[where](whole)]
        assert_ends_early(submit(provider, provider_user, collection, content), content)

    def test_every_cut_of_a_small_file_is_rejected_as_incomplete(self, provider, tmp_path):
        """Property: every proper prefix of a valid file (bar the final newline) ends early.
        Parsed directly, so every one of the ~2,000 cut points is tried."""
        whole = generated(provider, instances=3)
        path = tmp_path / "cut.xml"
        path.write_bytes(whole)
        assert parse_student_record(path, submission_id=1, students_out=io.StringIO(), instances_out=io.StringIO()).ok
        for cut in range(1, len(whole) - 1):
            path.write_bytes(whole[:cut])
            outcome = parse_student_record(
                path, submission_id=1, students_out=io.StringIO(), instances_out=io.StringIO()
            )
            assert [e.message for e in outcome.errors] == [
                f"The file ends early, at line {last_line(whole[:cut])}: it is incomplete. Upload the whole file."
            ], (cut, whole[:cut][-40:])

    def test_cuts_through_the_pipeline_store_nothing(self, provider, provider_user, collection):
        whole = generated(provider, instances=3)
        for cut in range(1, len(whole) - 1, 37):
            content = whole[:cut]
            assert_ends_early(submit(provider, provider_user, collection, content, task_id=f"cut{cut}"), content)

    def test_broken_or_trailing_content_is_not_taken_for_a_cut(self, provider, provider_user, collection):
        whole = generated(provider, instances=3)
        stray = whole.replace(b"</SURNAME>", b" & </SURNAME>", 1)  # reported only at the end by libxml2
        line = whole[: whole.index(b"</SURNAME>")].count(b"\n") + 1
        for content, at, problem in (
            (stray, line, "xmlParseEntityRef: no name"),
            (whole + b"<", last_line(whole) + 1, "Extra content at the end of the document"),
            (whole + b"<!-- unfinished", last_line(whole) + 1, "Comment not terminated"),
            (whole + b"<x/>", last_line(whole) + 1, "Extra content at the end of the document"),
        ):
            submission = submit(provider, provider_user, collection, content, task_id=problem)
            assert submission.status == "rejected"
            assert stored_rows(submission) == 0
            error = SchemaError.objects.get(submission=submission)
            assert error.line == at
            assert re.match(rf"The file is not well-formed XML at line {at}, column \d+: {problem}\. ", error.message)

    def test_comments_and_processing_instructions_are_still_fine(self, provider, provider_user, collection):
        whole = generated(provider, instances=3)
        content = (
            whole.replace(b"</SURNAME>", b"<?note x?>-Jones<!-- c --></SURNAME>", 1)
            + b"<?after the root?>\n<!-- and a comment -->\n"
        )
        submission = submit(provider, provider_user, collection, content)
        assert submission.status == "passed", list(SchemaError.objects.values_list("message", flat=True))
        surname = re.search(rb"<SURNAME>([^<]*)</SURNAME>", whole).group(1).decode()
        first = Student.objects.filter(submission=submission).order_by("line").first()
        assert first.surname == f"{surname}-Jones"  # the text around the PI joined up


class TestWhatLxmlSwallows:
    """After a fatal error it does not report, lxml's feed parser starts a new document with the
    next chunk it reads (iterparse reads 32 KB at a time)."""

    def test_a_whole_file_after_a_broken_start_is_not_taken_for_the_file(self, provider, provider_user, collection):
        broken = b'<?xml version="1.0"?><StudentRecord><Institution><RECID>23051</RECIX>'
        content = broken + b" " * (32768 - len(broken)) + generated(provider, instances=3)
        submission = submit(provider, provider_user, collection, content)
        assert submission.status == "rejected"
        assert stored_rows(submission) == 0
        error = SchemaError.objects.get(submission=submission)
        assert error.line == 1
        assert "Opening and ending tag mismatch: RECID line 1 and RECIX" in error.message

    def test_a_long_prolog_is_still_fine(self, provider, provider_user, collection):
        whole = generated(provider, instances=3)
        declaration, body = whole.split(b"?>\n", 1)
        content = declaration + b"?>\n<!--" + b" padding " * 5000 + b"-->\n" + body
        submission = submit(provider, provider_user, collection, content)
        assert submission.status == "passed", list(SchemaError.objects.values_list("message", flat=True))
        assert submission.instance_count == 3


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


@pytest.mark.django_db(transaction=True)
class TestPostgresStreaming:
    """Outside a transaction, on PostgreSQL, rows stream into COPY while the file is parsed
    (load.StreamingCopy): what a worker does. The tests above run inside one, so they spool."""

    @pytest.fixture
    def sink_kinds(self, monkeypatch):
        """Which way each run stored its rows: True for streaming COPY."""
        from collections_app.pipeline import load, runner

        kinds = []

        class Recorded(load.RowSinks):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                kinds.append(self.streaming)

        monkeypatch.setattr(runner, "RowSinks", Recorded)
        return kinds

    @pytest.mark.parametrize("where", ["just after a </Student> half way", "inside the last </StudentRecord>"])
    def test_a_file_cut_short_is_rolled_back(
        self, where, require_postgres, sink_kinds, provider, provider_user, collection
    ):
        whole = generated(provider, instances=300)
        content = whole[: TRUNCATIONS[where](whole)]
        assert_ends_early(submit(provider, provider_user, collection, content), content)
        assert sink_kinds == [True]

    @pytest.mark.parametrize("streaming", [True, False], ids=["streaming", "spooled"])
    def test_copy_works_with_debug_on(
        self, streaming, require_postgres, settings, sink_kinds, provider, provider_user, collection
    ):
        """Defect 12: with DEBUG=1 Django wraps cursors in CursorDebugWrapper, whose
        copy_expert takes no `size` keyword: every upload ended in `error`."""
        settings.DEBUG = True
        content = generated(provider, instances=120, defect_rate=0.1)
        if streaming:
            submission = submit(provider, provider_user, collection, content)
        else:
            from django.db import transaction

            with transaction.atomic():  # inside a caller's transaction rows are spooled, then COPYed
                submission = submit(provider, provider_user, collection, content)
        assert submission.status == "failed", submission.error_message
        assert Instance.objects.filter(submission=submission).count() == submission.instance_count == 120
        assert Student.objects.filter(submission=submission).count() == submission.student_count > 0
        assert submission.error_count > 0
        assert sink_kinds == [streaming]
