"""Retention (issue 14): superseded submissions' rows go after RETENTION_SUPERSEDED_DAYS, nothing
approved or current is touched, and a re-load brings back the very same failures."""

import hashlib
import importlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from collections_app import services
from collections_app.models import RuleFailure, RuleResult, Submission, SubmissionStatus
from collections_app.pipeline.runner import submission_process
from core.errors import ActionRefused
from hin.models import HinLink
from portal.retention import record_tables, retention_run
from portal.tasks import retention as retention_task
from review.services import submission_approve_historical
from student_record.models import Instance, Student
from student_record.sample_data import make_husid

from .. import factories
from ..xmlbuild import instance, student, student_record

FAILURE_FIELDS = ("code", "severity", "instance_id", "student_id", "other_instance_id", "line", "husid", "numhus",
                  "field", "value", "message")  # fmt: skip


def people(instid, *, failing: bool) -> list:
    husids = [make_husid(2022, instid, n) for n in (1, 2, 3)]
    return [
        student(instance(), HUSID=husids[0], SURNAME="Smith", GENDER="F" if failing else "M"),
        student(
            instance(NUMHUS="1", POSTCODE="BS1 4DJ", **({"RSNLEAVE": "01"} if failing else {})),
            HUSID=husids[1],
            SURNAME="Jones",
            BIRTHDTE="2001-01-01",
        ),
        student(instance(POSTCODE="GL1 1AA"), HUSID=husids[2], SURNAME="Brown", BIRTHDTE="2002-02-02"),
    ]


def upload(provider, user, collection, *, failing: bool, recid: str) -> Submission:
    content = student_record(*people(provider.instid, failing=failing), recid=recid, instid=provider.instid,
                             ukprn=provider.ukprn)  # fmt: skip
    submission = factories.SubmissionFactory(
        provider=provider,
        uploaded_by=user,
        collection=collection,
        file=ContentFile(content, name="r.xml"),
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
    )
    submission_process(submission_id=submission.pk, task_id="t")
    submission.refresh_from_db()
    assert submission.status in ("passed", "failed"), submission.error_message
    return submission


@pytest.fixture
def years(db):
    prev = factories.CollectionFactory(reference="C22051", name="Student record 2022/23", reporting_year=2022)
    cur = factories.CollectionFactory(reference="C23051", name="Student record 2023/24", reporting_year=2023)
    cur.previous = prev
    cur.save()
    return prev, cur


def rows(submission) -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in record_tables():
            cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE submission_id = %s", [submission.pk])
            counts[table] = cursor.fetchone()[0]
        return counts


def age(submission, days):
    """Processed, and (if it is) superseded, `days` ago."""
    then = timezone.now() - timedelta(days=days)
    Submission.objects.filter(pk=submission.pk).update(finished_at=then)
    Submission.objects.filter(pk=submission.pk, status=SubmissionStatus.SUPERSEDED).update(superseded_at=then)


def failures(submission) -> list[tuple]:
    return list(
        RuleFailure.objects.filter(submission=submission).order_by(*FAILURE_FIELDS).values_list(*FAILURE_FIELDS)
    )


@pytest.fixture
def uploads(years, provider, provider_user, approver):
    """The approved previous year; three uploads of this year (old and superseded, recent and
    superseded, current); and an upload approved once, then superseded by a later approval."""
    prev_year, year = years
    previous = upload(provider, provider_user, prev_year, failing=False, recid="22051")
    submission_approve_historical(submission=previous, user=approver)
    once_approved = upload(provider, provider_user, year, failing=True, recid="23051")
    submission_approve_historical(submission=once_approved, user=approver)
    old = upload(provider, provider_user, year, failing=True, recid="23051")
    recent = upload(provider, provider_user, year, failing=True, recid="23051")
    current = upload(provider, provider_user, year, failing=True, recid="23051")
    Submission.objects.filter(pk=once_approved.pk).update(status=SubmissionStatus.SUPERSEDED)
    for s in (previous, once_approved, old):
        age(s, 31)
    age(recent, 29)
    for s in (previous, once_approved, old, recent, current):
        s.refresh_from_db()
    assert [s.status for s in (old, recent, current)] == ["superseded", "superseded", "failed"]
    return {"previous": previous, "once_approved": once_approved, "old": old, "recent": recent, "current": current}


def test_retention_removes_exactly_the_superseded_rows_past_the_age(uploads):
    old = uploads["old"]
    before = {name: rows(s) for name, s in uploads.items()}
    stored = {
        t: n for t, n in before["old"].items() if t in ("hin_link", "sr_rule_failure", "sr_instance", "sr_student")
    }
    assert all(stored.values()), stored  # records, failures and HIN links, all stored
    summary = list(RuleResult.objects.filter(submission=old).values_list("code", "failure_count"))

    out = StringIO()
    call_command("retention", "--dry-run", stdout=out)
    assert f"submission {old.pk} " in out.getvalue() and "would remove" in out.getvalue()
    assert f"submission {uploads['recent'].pk} " not in out.getvalue()
    assert rows(old) == before["old"]

    removed = retention_run()

    assert [r.submission.pk for r in removed] == [old.pk]
    assert removed[0].rows == before["old"]
    assert rows(old) == dict.fromkeys(before["old"], 0)
    for name in ("previous", "once_approved", "recent", "current"):
        assert rows(uploads[name]) == before[name], name
    old.refresh_from_db()
    assert old.records_archived_at is not None and old.status == "superseded"
    assert old.file and old.instance_count == 3  # the file and counts stay
    assert list(RuleResult.objects.filter(submission=old).values_list("code", "failure_count")) == summary
    api = APIClient()
    api.force_authenticate(old.uploaded_by)
    assert api.get(f"/api/v1/submissions/{old.pk}/").json()["records_archived_at"]
    event = AuditEvent.objects.get(action="submission.records_archived")
    assert event.submission_id == old.pk
    assert retention_run() == []  # nothing left to do


def test_retention_removes_the_kept_csvs_of_the_rows_it_removes(uploads, provider_user, client, settings):
    client.force_login(provider_user)
    for name in ("old", "recent"):
        b"".join(client.get(reverse("hin_target_list_csv", args=[uploads[name].pk])).streaming_content)
    folders = {name: settings.EXPORT_CACHE_DIR / f"submission-{uploads[name].pk}" for name in ("old", "recent")}
    assert all(any(folder.glob("*.csv")) for folder in folders.values())

    retention_run()

    assert not folders["old"].exists()  # its rows went: so does the list read from them
    assert any(folders["recent"].glob("*.csv"))


def test_reload_brings_back_identical_failures(uploads, provider_user, client, django_capture_on_commit_callbacks):
    old = uploads["old"]
    before = failures(old)
    records = list(Instance.objects.filter(submission=old).order_by("id").values_list())
    students = list(Student.objects.filter(submission=old).order_by("id").values_list())
    links = list(HinLink.objects.filter(submission=old).order_by("current_instance_id").values_list(
        "current_instance_id", "previous_instance_id", "kind"))  # fmt: skip
    assert before and links
    retention_run()
    assert failures(old) == []

    client.force_login(provider_user)
    page = client.get(f"/submissions/{old.pk}/").content.decode()
    assert "Records archived; re-load to see failures" in page and 'id="reload-form"' in page

    assert (
        "Records archived; re-load to see failures" in client.get(f"/submissions/{old.pk}/failures/").content.decode()
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/submissions/{old.pk}/reload/")
    assert response.status_code == 302

    old.refresh_from_db()
    assert old.status == "superseded" and old.records_archived_at is None
    assert failures(old) == before
    assert list(Instance.objects.filter(submission=old).order_by("id").values_list()) == records
    assert list(Student.objects.filter(submission=old).order_by("id").values_list()) == students
    assert list(HinLink.objects.filter(submission=old).order_by("current_instance_id").values_list(
        "current_instance_id", "previous_instance_id", "kind")) == links  # fmt: skip
    uploads["current"].refresh_from_db()
    assert uploads["current"].status == "failed"  # the re-load superseded nothing
    assert AuditEvent.objects.filter(action="submission.reloaded", submission=old).exists()
    page = client.get(f"/submissions/{old.pk}/").content.decode()
    assert "Records archived" not in page


def test_the_age_counts_from_when_it_was_superseded(uploads, provider, provider_user, years):
    """An upload that was the current one for months keeps its rows for the whole period after a
    newer one replaced it, not only what is left of it since it was processed."""
    current = uploads["current"]
    Submission.objects.filter(pk=current.pk).update(finished_at=timezone.now() - timedelta(days=90))
    newer = upload(provider, provider_user, years[1], failing=True, recid="23051")
    current.refresh_from_db()
    assert current.status == "superseded"
    assert current.superseded_at == newer.finished_at  # when the newer upload completed
    assert current.pk not in {r.submission.pk for r in retention_run()}
    Submission.objects.filter(pk=current.pk).update(superseded_at=timezone.now() - timedelta(days=31))
    assert current.pk in {r.submission.pk for r in retention_run()}


def test_a_reloaded_submission_keeps_its_rows_for_the_period_again(
    uploads, provider_user, django_capture_on_commit_callbacks
):
    old = uploads["old"]
    retention_run()
    with django_capture_on_commit_callbacks(execute=True):
        services.submission_reload(submission=old, user=provider_user)
    old.refresh_from_db()
    assert old.records_archived_at is None and old.superseded_at < timezone.now() - timedelta(days=30)
    assert retention_run() == []  # superseded long ago, but loaded again today
    age(old, 31)
    assert [r.submission.pk for r in retention_run()] == [old.pk]


def test_a_newer_approval_supersedes_the_approved_submission_with_its_time(uploads, provider, provider_user, approver):
    previous = uploads["previous"]
    assert previous.status == "approved" and previous.superseded_at is None
    replacement = upload(provider, provider_user, previous.collection, failing=False, recid="22051")
    approval = submission_approve_historical(submission=replacement, user=approver)
    previous.refresh_from_db()
    assert previous.status == "superseded" and previous.superseded_at == approval.approved_at


def test_the_migration_dates_existing_superseded_submissions_by_what_superseded_them(uploads):
    backfill = importlib.import_module("collections_app.migrations.0012_submission_superseded_at").BACKFILL
    old, recent, current = uploads["old"], uploads["recent"], uploads["current"]
    Submission.objects.update(superseded_at=None)
    with connection.cursor() as cursor:
        cursor.execute(backfill)
    for s in (old, recent, current):
        s.refresh_from_db()
    assert old.superseded_at == recent.finished_at  # the next upload to finish superseded it
    assert recent.superseded_at == current.finished_at
    assert current.superseded_at is None  # not superseded


def test_reload_refused_unless_archived(uploads, provider_user, other_user):
    with pytest.raises(ActionRefused) as refused:
        services.submission_reload(submission=uploads["recent"], user=provider_user)
    assert refused.value.code == "not_archived"
    retention_run()
    with pytest.raises(ActionRefused) as refused:
        services.submission_reload(submission=uploads["old"], user=other_user)
    assert refused.value.code == "forbidden"


def test_retention_days_setting(uploads, settings):
    settings.RETENTION_SUPERSEDED_DAYS = 28
    removed = {r.submission.pk for r in retention_run()}
    assert removed == {uploads["old"].pk, uploads["recent"].pk}


def test_batches_remove_every_row(uploads, settings):
    settings.RETENTION_BATCH = 2  # several batches per table
    old = uploads["old"]
    retention_run()
    assert sum(rows(old).values()) == 0


def test_nightly_in_beat(settings, uploads):
    assert settings.CELERY_BEAT_SCHEDULE["retention"]["task"] == "portal.retention"
    assert retention_task.delay().get() == 1  # eager in tests: the task beat sends
    uploads["old"].refresh_from_db()
    assert uploads["old"].records_archived_at is not None


def test_a_new_upload_is_not_compared_with_archived_rows(uploads, years, provider, provider_user):
    current = uploads["current"]
    Submission.objects.filter(pk=current.pk).update(status=SubmissionStatus.SUPERSEDED)
    retention_run(days=0)
    current.refresh_from_db()
    assert current.records_archived_at is not None
    newer = upload(provider, provider_user, years[1], failing=True, recid="23051")
    # `recent` was archived too (days=0): the newest upload with rows is the approved one.
    assert newer.previous_submission_id == uploads["once_approved"].pk
    assert newer.records_added == 0 and newer.records_removed == 0
