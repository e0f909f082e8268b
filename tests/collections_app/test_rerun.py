"""Re-running the checks of a stored submission in place (services.submission_rerun): no new
upload, the same records; failures replaced; an approved submission stays approved and is marked
when it no longer passes."""

import pytest
from django.db.models import Q

from audit.models import AuditEvent
from collections_app.models import RuleFailure, RuleResult, Severity, Submission, SubmissionStatus
from collections_app.rules.registry import rule, unregister
from collections_app.services import submission_rerun
from core.errors import ActionRefused
from credibility.models import CredibilityCell
from review import services as review_services
from student_record.models import Instance

from ..factories import ApproverFactory, SubmissionFactory
from ..hin import test_guidance_examples as examples
from ..hin.test_guidance_examples import CURRENT_RECID, approve_previous, process
from ..xmlbuild import instance, student, student_record

OTHER_HUSID = "9811681234573"
years = examples.years  # the fixture: C22051 and C23051 linked to it


def rows(submission):
    return sorted(
        RuleFailure.objects.filter(submission=submission).values_list(
            "code", "severity", "instance_id", "student_id", "other_instance_id", "husid", "numhus", "value"
        )
    )


def rerun(submission, user, capture):
    with capture(execute=True):
        submission_rerun(submission=submission, user=user)
    submission.refresh_from_db()
    return submission


@pytest.fixture
def gender_changed(provider, provider_user, years):
    """Last year's approved record was M; this year's is F: one HIN5b warning (no tolerance: blocks)."""
    approve_previous(provider, provider_user, years, [student(instance())])
    current = student_record(
        student(instance(), GENDER="F"),
        student(instance(COMDATE="2023-09-20"), HUSID=OTHER_HUSID, FNAMES="Ann", BIRTHDTE="2004-05-05"),
        recid=CURRENT_RECID,
    )
    submission = process(provider, provider_user, years[1], current)
    assert submission.status == SubmissionStatus.PASSED and submission.warning_count == 1
    return submission


def test_a_tolerance_change_then_a_rerun_marks_approved_data_that_no_longer_passes(
    gender_changed, provider, liaison, django_capture_on_commit_callbacks
):
    collection = gender_changed.collection
    review_services.tolerance_set(collection=collection, code="HIN5b", user=liaison, percent=100)
    review_services.submission_approve(submission=gender_changed, user=ApproverFactory(provider=provider))
    before = rows(gender_changed)
    assert [r[0] for r in before] == ["HIN5b"]
    records = Instance.objects.filter(submission=gender_changed).count()

    review_services.tolerance_set(collection=collection, code="HIN5b", user=liaison, percent=0)
    submission = rerun(gender_changed, liaison, django_capture_on_commit_callbacks)
    assert submission.status == SubmissionStatus.APPROVED  # never un-approved by a re-run
    assert submission.approved_no_longer_passes
    assert submission.rerun_from_status == "" and submission.rerun_count == 1
    assert (submission.stage, submission.progress) == ("done", 100)
    assert rows(submission) == before  # replaced, not added to: no duplicates
    assert Instance.objects.filter(submission=submission).count() == records
    assert Submission.objects.count() == 2  # nothing new was created
    assert AuditEvent.objects.filter(action="submission.rerun", submission=submission).exists()
    assert "over its tolerance" in AuditEvent.objects.get(action="approval.no_longer_passes").summary

    # The grid and the page say so.
    from review.selectors import collection_state

    assert collection_state(provider=provider, collection=collection).approved_no_longer_passes

    review_services.tolerance_set(collection=collection, code="HIN5b", user=liaison, percent=100)
    submission = rerun(submission, liaison, django_capture_on_commit_callbacks)
    assert submission.status == SubmissionStatus.APPROVED and not submission.approved_no_longer_passes
    assert rows(submission) == before and submission.rerun_count == 2


def test_the_page_shows_the_mark_and_the_rerun_button(client, gender_changed, provider, liaison):
    review_services.tolerance_set(collection=gender_changed.collection, code="HIN5b", user=liaison, percent=100)
    review_services.submission_approve(submission=gender_changed, user=ApproverFactory(provider=provider))
    Submission.objects.filter(pk=gender_changed.pk).update(approved_no_longer_passes=True)
    client.force_login(liaison)
    page = client.get(f"/submissions/{gender_changed.pk}/").content.decode()
    assert 'id="no-longer-passes"' in page and "Approved data no longer passes" in page
    assert f'action="/submissions/{gender_changed.pk}/rerun/"' in page
    grid = client.get("/liaison/grid/").content.decode()
    assert "Approved data no longer passes" in grid


_FIXED = {"fixed": False}


@pytest.fixture
def broken_rule():
    """An error rule that fires on every instance until it is 'fixed'."""

    def sql(ctx):
        return (
            "SELECT i.id, i.student_id, i.line, i.husid, i.numhus, 'QUALAIM', i.qualaim, 'broken' "
            "FROM sr_instance i WHERE i.submission_id = %(sid)s AND NOT %(fixed)s",
            {"sid": ctx.submission_id, "fixed": _FIXED["fixed"]},
        )

    sql.__doc__ = "A rule with a bug."
    _FIXED["fixed"] = False
    rule(code="TEST.RERUN.01", title="Broken", severity=Severity.ERROR, record_kind="student_record")(sql)
    yield _FIXED
    unregister("TEST.RERUN.01")


def test_a_rule_fixed_then_a_rerun_passes_the_provider_submission(
    broken_rule, provider, provider_user, collection, django_capture_on_commit_callbacks
):
    content = student_record(student(instance()), student(instance(), HUSID=OTHER_HUSID, FNAMES="Ann"))
    submission = process(provider, provider_user, collection, content)
    assert submission.status == SubmissionStatus.FAILED
    assert RuleFailure.objects.filter(submission=submission, code="TEST.RERUN.01").count() == 2

    # Re-run with the bug still there: the same failures, once each.
    submission = rerun(submission, provider_user, django_capture_on_commit_callbacks)
    assert submission.status == SubmissionStatus.FAILED
    assert RuleFailure.objects.filter(submission=submission, code="TEST.RERUN.01").count() == 2

    broken_rule["fixed"] = True
    submission = rerun(submission, provider_user, django_capture_on_commit_callbacks)
    assert submission.status == SubmissionStatus.PASSED and submission.error_count == 0
    assert not RuleFailure.objects.filter(submission=submission, code="TEST.RERUN.01").exists()
    assert RuleResult.objects.get(submission=submission, code="TEST.RERUN.01").failure_count == 0
    assert "Re-run: passed" in submission.stage_message
    assert CredibilityCell.objects.filter(submission=submission).exists()


def test_who_may_rerun(
    gender_changed, provider_user, other_user, liaison, provider, django_capture_on_commit_callbacks
):
    with pytest.raises(ActionRefused) as refused:
        submission_rerun(submission=gender_changed, user=other_user)
    assert refused.value.code == "forbidden"
    # A newer upload replaces it: the provider may no longer re-run it, liaison still may.
    newer = process(provider, provider_user, gender_changed.collection, student_record(student(), recid=CURRENT_RECID))
    gender_changed.refresh_from_db()
    assert gender_changed.status == SubmissionStatus.SUPERSEDED
    with pytest.raises(ActionRefused) as refused:
        submission_rerun(submission=gender_changed, user=provider_user)
    assert refused.value.code == "not_current"
    with pytest.raises(ActionRefused) as refused:
        submission_rerun(submission=gender_changed, user=liaison)  # superseded: not checked as current
    assert refused.value.code == "not_rerunnable"
    queued = SubmissionFactory(provider=provider, collection=newer.collection, uploaded_by=provider_user)
    with pytest.raises(ActionRefused) as refused:
        submission_rerun(submission=newer, user=liaison)
    assert refused.value.code == "in_flight"
    queued.delete()
    assert rerun(newer, provider_user, django_capture_on_commit_callbacks).status == SubmissionStatus.PASSED


def test_the_api_queues_a_rerun(gender_changed, provider_user, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(provider_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/submissions/{gender_changed.pk}/rerun/")
    assert response.status_code == 202, response.content
    gender_changed.refresh_from_db()
    assert gender_changed.status == SubmissionStatus.PASSED and gender_changed.rerun_count == 1
    assert rows(gender_changed)[0][0] == "HIN5b"


# A re-run through a real worker, killed mid-way. --------------------------------------------------


def _state(submission_id):
    submission = Submission.objects.get(pk=submission_id)
    failures = sorted(
        RuleFailure.objects.filter(submission=submission_id).values_list(
            "code", "severity", "instance_id", "student_id", "other_instance_id", "line", "husid", "numhus",
            "field", "value", "message",
        )
    )  # fmt: skip
    results = sorted(RuleResult.objects.filter(submission=submission_id).values_list("code", "failure_count"))
    cells = sorted(
        CredibilityCell.objects.filter(submission=submission_id).values_list(
            "table", "category", "count", "previous_count", "approved_count", "flagged"
        )
    )
    verdict = (submission.status, submission.error_count, submission.warning_count, submission.rerun_from_status)
    return verdict, failures, results, cells


@pytest.mark.django_db(transaction=True)
def test_a_rerun_whose_worker_is_killed_ends_with_the_rows_of_an_uninterrupted_one(
    require_postgres, require_redis, settings, tmp_path
):
    import io
    import time

    from django.core.files.uploadedfile import SimpleUploadedFile

    from collections_app.services import submission_create
    from student_record.sample_data import write_student_record

    from ..factories import CollectionFactory, LiaisonFactory, ProviderFactory, UserFactory
    from ..worker_helpers import FAST_HEARTBEAT, RealWorker, flush_broker, sending_to, wait_for

    provider = ProviderFactory()
    user = UserFactory(provider=provider)
    liaison = LiaisonFactory()
    collection = CollectionFactory()
    out = io.StringIO()
    write_student_record(out, instances=60_000, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
                         reporting_year=2023, seed=7, defect_rate=0.01)  # fmt: skip
    row = Submission.objects.filter(provider=provider)
    done = ~Q(status__in=["queued", "processing"])

    flush_broker(require_redis)
    worker = RealWorker(broker_url=require_redis, media_root=settings.MEDIA_ROOT, log_dir=tmp_path, env=FAST_HEARTBEAT)
    with worker, sending_to(require_redis):
        worker.wait_ready()
        upload = SimpleUploadedFile("big.xml", out.getvalue().encode(), content_type="application/xml")
        submission = submission_create(collection=collection, provider=provider, user=user, uploaded_file=upload)
        wait_for(lambda: row.filter(done).exists(), 180, "the upload's verdict")
        uploaded = _state(submission.pk)
        assert uploaded[0][0] == "failed" and uploaded[1], worker.log_tail()

        submission_rerun(submission=row.get(), user=liaison)
        wait_for(lambda: row.filter(done).exists(), 120, "the uninterrupted re-run")
        uninterrupted = _state(submission.pk)

        submission_rerun(submission=row.get(), user=liaison)
        # Killed once some rules' failures are already replaced and others not yet.
        wait_for(lambda: row.filter(status="processing", stage="rules", progress__gt=75).exists(), 60, "rules")
        first_task = row.get().task_id
        assert worker.kill_pool_children(), "no pool process to kill"
        killed = time.monotonic()
        wait_for(lambda: row.filter(done).exists(), 120, "the redelivered re-run")
        took = time.monotonic() - killed
        killed_state = _state(submission.pk)
    after = row.get()
    assert after.task_id == first_task and after.attempts == 2, worker.log_tail()
    assert after.rerun_count == 2 and Submission.objects.count() == 1
    assert killed_state == uninterrupted
    assert uninterrupted == uploaded  # the same records give the same rows and verdict
    assert Instance.objects.filter(submission=submission).count() == 60_000
    print(f"\nre-run killed mid-rules: verdict {took:.1f} s after the kill")


def test_a_rerun_that_stops_with_an_error_leaves_an_approved_submission_approved(
    gender_changed, provider, liaison, django_capture_on_commit_callbacks
):
    review_services.tolerance_set(collection=gender_changed.collection, code="HIN5b", user=liaison, percent=100)
    review_services.submission_approve(submission=gender_changed, user=ApproverFactory(provider=provider))
    before = rows(gender_changed)

    def sql(ctx):
        raise RuntimeError("the rule's SQL could not be built")

    sql.__doc__ = "Broken."
    rule(code="TEST.RERUN.02", title="Raises", severity=Severity.ERROR, record_kind="student_record")(sql)
    try:
        submission = rerun(gender_changed, liaison, django_capture_on_commit_callbacks)
    finally:
        unregister("TEST.RERUN.02")
    assert submission.status == SubmissionStatus.APPROVED and not submission.approved_no_longer_passes
    assert submission.rerun_from_status == "" and "Re-run stopped: RuntimeError" in submission.error_message
    assert rows(submission) == before
    # ... and it can be re-run again.
    assert rerun(submission, liaison, django_capture_on_commit_callbacks).status == SubmissionStatus.APPROVED


def test_a_rerun_lost_too_often_goes_back_to_its_status(settings, gender_changed):
    from datetime import timedelta

    from django.utils import timezone

    from collections_app.services import submissions_sweep

    settings.PIPELINE_MAX_ATTEMPTS = 3
    Submission.objects.filter(pk=gender_changed.pk).update(
        status="processing",
        rerun_from_status="approved",
        task_id="lost",
        attempts=3,
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    assert submissions_sweep()["errored"] == 1
    gender_changed.refresh_from_db()
    assert (gender_changed.status, gender_changed.rerun_from_status) == ("approved", "")
    assert gender_changed.error_message.startswith("Re-run stopped: Processing stopped 3 times")


def test_approved_data_being_rerun_is_still_the_approved_data(provider, provider_user, years):
    """While last year's approved submission is re-run (its status says processing), this year's
    upload still links against it, and a population built then still finds it."""
    bsc = instance(NUMHUS="1", QUALAIM="21", PTITLE="BSc Maths")
    previous = approve_previous(provider, provider_user, years, [student(bsc)])
    Submission.objects.filter(pk=previous.pk).update(
        status=SubmissionStatus.PROCESSING, rerun_from_status=SubmissionStatus.APPROVED
    )
    current = process(provider, provider_user, years[1], student_record(student(bsc), recid=CURRENT_RECID))
    assert f"with C22051 (submission {previous.pk})" in current.stage_message, current.stage_message
