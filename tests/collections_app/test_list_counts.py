"""Long lists count once and cheaply (issue 11): the failures list takes its total from the per-rule
counts the pipeline stored, and the submission page reads warning counts and rule summaries once."""

import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_app.models import RuleFailure, Submission
from student_record.sample_data import write_student_record


@pytest.fixture
def failed_submission(provider, provider_user, collection, django_capture_on_commit_callbacks, client):
    out = io.StringIO()
    write_student_record(out, instances=400, recid="23051", instid=provider.instid, ukprn=provider.ukprn,
                         reporting_year=2023, seed=2, defect_rate=0.3)  # fmt: skip
    client.force_login(provider_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("collection_upload", args=[collection.reference]), {"file": io.BytesIO(out.getvalue().encode())}
        )
    return Submission.objects.get()


def _sql(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response, [q["sql"] for q in captured.captured_queries]


def test_the_failures_list_counts_nothing_but_shows_the_total(client, failed_submission):
    code = RuleFailure.objects.filter(submission=failed_submission).values_list("code", flat=True).first()
    total = RuleFailure.objects.filter(submission=failed_submission, code=code).count()
    for query in (f"?rule={code}", f"?rule={code}&sort=-surname&page=last", "?page=2", "?sort=husid&page=3"):
        response, sql = _sql(client, reverse("submission_failures", args=[failed_submission.pk]) + query)
        assert not [s for s in sql if "COUNT(" in s.upper() and "sr_rule_failure" in s], query
    response, _ = _sql(client, reverse("submission_failures", args=[failed_submission.pk]) + f"?rule={code}")
    assert f"{total:,} failure" in response.content.decode()


def test_a_search_is_counted_once(client, failed_submission):
    _, sql = _sql(client, reverse("submission_failures", args=[failed_submission.pk]) + "?q=1")
    assert len([s for s in sql if "COUNT(" in s.upper() and "sr_rule_failure" in s]) == 1


def test_the_submission_page_reads_warning_counts_and_rule_summaries_once(client, failed_submission):
    _, sql = _sql(client, reverse("submission_detail", args=[failed_submission.pk]))
    rule_results = [s for s in sql if re.search(r'FROM "?collections_app_ruleresult"?', s)]
    warning_counts = [s for s in sql if "sr_rule_failure" in s and "GROUP BY" in s.upper()]
    assert len(rule_results) == 1, rule_results
    # The confirmed warnings are counted once, and not at all when no rule warned (as here: no
    # warning in this file, and no previous year for the HIN checks).
    assert len(warning_counts) <= 1, warning_counts


def test_a_jump_to_a_husid_lands_on_its_page(client, failed_submission):
    ordered = list(
        RuleFailure.objects.filter(submission=failed_submission)
        .order_by("husid", "numhus", "id")
        .values_list("husid", flat=True)
    )
    assert len(ordered) > 60
    target = ordered[len(ordered) - 3]
    response = client.get(reverse("submission_failures", args=[failed_submission.pk]) + f"?at={target}")
    page = response.context["page"]
    assert page.number == ordered.index(target) // 50 + 1
    assert target in [f.husid for f in page]


def test_the_failures_are_analyzed_after_the_rules_run(require_postgres, failed_submission):
    """The rules write thousands of failures after the loader analyzed the records: without fresh
    statistics the first pages of the failure lists were planned as if there were none (2.3 s for
    the surname-sorted list at 57,751 failures), until autovacuum came round."""
    from collections_app.rules.engine import run_rules

    with CaptureQueriesContext(connection) as captured:
        counts = run_rules(failed_submission)
    assert sum(counts.values()) > 0
    statements = [q["sql"] for q in captured.captured_queries]
    assert statements[-1] == "ANALYZE sr_rule_failure", statements[-3:]
