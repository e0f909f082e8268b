"""Shared builders for the review tests (tests/review/)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from collections_app.models import CollectionKind, RuleFailure, RuleResult, Severity, WarningConfirmation
from collections_app.rules.registry import Tolerance, rule, unregister

from .factories import SubmissionFactory

LONDON = ZoneInfo("Europe/London")


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def make_submission(provider, collection, *, status="passed", instances=100, **fields):
    """A processed submission without running the pipeline (status and counts set directly)."""
    return SubmissionFactory(
        provider=provider,
        collection=collection,
        status=status,
        stage="done",
        student_count=instances,
        instance_count=instances,
        sha256=fields.pop("sha256", "ab" * 32),
        **fields,
    )


def add_warnings(submission, code, n, *, start=0):
    """`n` more stored failures of warning rule `code` on distinct records, counted in its RuleResult
    as the rules engine would (the counts are read from there)."""
    result, _ = RuleResult.objects.get_or_create(
        submission=submission, code=code, defaults={"severity": Severity.WARNING, "failure_count": 0}
    )
    result.failure_count += n
    result.save(update_fields=["failure_count"])
    return RuleFailure.objects.bulk_create(
        RuleFailure(
            submission=submission,
            code=code,
            severity=Severity.WARNING,
            husid=f"{start + i:013d}",
            numhus="1",
            value="F (was M)",
            message="changed",
        )
        for i in range(n)
    )


def confirm(submission, failures, user):
    WarningConfirmation.objects.bulk_create(
        WarningConfirmation(
            provider=submission.provider,
            collection=submission.collection,
            code=f.code,
            husid=f.husid,
            numhus=f.numhus,
            value=f.value,
            reason="right",
            submission=submission,
            confirmed_by=user,
        )
        for f in failures
    )


class temporary_rule:
    """Register a warning rule (with an optional tolerance) for the duration of a test."""

    def __init__(self, code, *, count=None, percent=None, applies_to="instance"):
        self.code = code
        self.tolerance = Tolerance(count=count, percent=percent) if (count is not None or percent is not None) else None
        self.applies_to = applies_to

    def __enter__(self):
        def sql(ctx):
            return "SELECT NULL, NULL, NULL, '', '', '', '', '' WHERE FALSE", {}

        sql.__doc__ = "A test warning."
        rule(
            code=self.code,
            title=f"Test rule {self.code}",
            severity=Severity.WARNING,
            record_kind=CollectionKind.STUDENT_RECORD,
            applies_to=self.applies_to,
            tolerance=self.tolerance,
        )(sql)
        return self

    def __exit__(self, *exc):
        unregister(self.code)
