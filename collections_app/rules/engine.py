"""Runs a stage's rules for a submission: INSERT ... SELECT per rule, then a summary row each.

Idempotent: each rule's earlier failures for the submission are deleted in the same
transaction that inserts the new ones, so a re-run stores every failure exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import nullcontext

from django.conf import settings
from django.db import connection, transaction

from collections_app.models import RuleFailure, RuleResult, Submission

from .registry import RESERVED_PARAM_PREFIX, Rule, RuleContext, rules_for, setup_for


def _rule_params(rule: Rule, params) -> dict:
    """The rule's named parameters, checked: a mapping whose names leave the engine's alone."""
    if not isinstance(params, Mapping):
        raise TypeError(
            f"rule {rule.code} returned {type(params).__name__} parameters: sql(ctx) must return "
            f"(select_sql, params) with params a mapping of named parameters used as %(name)s"
        )
    reserved = sorted(name for name in params if name.startswith(RESERVED_PARAM_PREFIX))
    if reserved:
        raise ValueError(
            f"rule {rule.code} uses parameter names reserved for the rules engine "
            f"(prefix {RESERVED_PARAM_PREFIX!r}): {', '.join(reserved)}"
        )
    return dict(params)


# Copied onto each failure with a student, so the failures list can sort by name along an index.
NAME_COLUMNS = ("fnames", "surname")


def _failures_select(rule, select_sql: str) -> str:
    """The SELECT that stores a rule's failures: the rule's own columns (its `select_sql`, named by
    `rule.columns` in a CTE, as rules name their columns as they like), then its failures' student
    names, or NULLs for a rule whose failures name no student."""
    named = f"WITH q ({', '.join(rule.columns)}) AS ({select_sql}) "
    head = "SELECT %(_submission_id)s, %(_code)s, %(_severity)s, q.*"
    if "student_id" in rule.columns:
        return f"{named}{head}, s.fnames, s.surname FROM q LEFT JOIN sr_student s ON s.id = q.student_id"
    return f"{named}{head}, NULL, NULL FROM q"


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
                params = _rule_params(rule, params)
                with connection.cursor() as cursor:
                    if connection.vendor == "postgresql":
                        # Rules group a whole submission at once; the default 4 MB spills to disk.
                        cursor.execute("SET LOCAL work_mem = %s", [settings.RULES_WORK_MEM])
                    insert_columns = ", ".join(("submission_id", "code", "severity", *rule.columns, *NAME_COLUMNS))
                    cursor.execute(
                        f"INSERT INTO sr_rule_failure ({insert_columns}) {_failures_select(rule, select_sql)}",
                        {**params, "_submission_id": submission.pk, "_code": rule.code, "_severity": rule.severity},
                    )
                    counts[rule.code] = max(cursor.rowcount, 0)
                RuleResult.objects.update_or_create(
                    submission=submission,
                    code=rule.code,
                    defaults={"severity": rule.severity, "failure_count": counts[rule.code]},
                )
            if progress:
                progress(done, len(rules))
    if connection.vendor == "postgresql" and sum(counts.values()):
        # Fresh statistics for the failures just written, as the loader takes for the records:
        # until autovacuum's analyze, the failure lists' first pages were planned as if this
        # submission had none (measured at 57,751 failures: the surname-sorted list took 2.3 s,
        # 87 ms once analyzed). ANALYZE samples a fixed number of rows: about 0.1 s at that size.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sr_rule_failure")
    return counts
