"""Runs a stage's rules for a submission: INSERT ... SELECT per rule, then a summary row each.

Idempotent: each rule's earlier failures for the submission are deleted in the same
transaction that inserts the new ones, so a re-run stores every failure exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

from django.conf import settings
from django.db import connection, transaction

from collections_app.models import RuleFailure, RuleResult, Submission

from .registry import RuleContext, rules_for, setup_for


def run_rules(
    submission: Submission,
    *,
    stage: str = "rules",
    progress: Callable[[int, int], None] | None = None,
    previous_submission_id: int | None = None,
) -> dict[str, int]:
    """Run every rule of the submission's record kind for `stage`; return failures per code."""
    rules = rules_for(submission.collection.kind, stage=stage)
    context = RuleContext(
        submission_id=submission.pk,
        provider_instid=submission.provider.instid,
        reporting_year=submission.collection.reporting_year,
        previous_submission_id=previous_submission_id,
    )
    counts: dict[str, int] = {}
    setup = setup_for(submission.collection.kind, stage=stage)
    with setup(context) if setup else nullcontext():
        for done, rule in enumerate(rules, start=1):
            # One transaction per rule, so progress between rules is visible to the page polling.
            with transaction.atomic():
                RuleFailure.objects.filter(submission=submission, code=rule.code).delete()
                select_sql, params = rule.sql(context)
                with connection.cursor() as cursor:
                    if connection.vendor == "postgresql":
                        # Rules group a whole submission at once; the default 4 MB spills to disk.
                        cursor.execute("SET LOCAL work_mem = %s", [settings.RULES_WORK_MEM])
                    insert_columns = ", ".join(("submission_id", "code", "severity", *rule.columns))
                    cursor.execute(
                        f"INSERT INTO sr_rule_failure ({insert_columns}) SELECT %s, %s, %s, q.* FROM ({select_sql}) q",
                        [submission.pk, rule.code, rule.severity, *params],
                    )
                    counts[rule.code] = max(cursor.rowcount, 0)
                RuleResult.objects.update_or_create(
                    submission=submission,
                    code=rule.code,
                    defaults={"severity": rule.severity, "failure_count": counts[rule.code]},
                )
            if progress:
                progress(done, len(rules))
    return counts
