"""Reads for collections and submissions. Every query that a user drives is scoped here."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from accounts import permissions

from . import kinds
from .models import (
    CURRENT_STATUSES,
    Collection,
    RuleFailure,
    RuleResult,
    SchemaError,
    Severity,
    Submission,
    WarningConfirmation,
)
from .rules import get_rule

# Failure list ordering a user may ask for: public name -> model field(s).
FAILURE_SORTS = {
    "line": ("line", "id"),
    "husid": ("husid", "numhus", "id"),
    "numhus": ("numhus", "husid", "id"),
    "surname": ("surname", "fnames", "id"),
    "field": ("field", "id"),
    "value": ("value", "id"),
    "rule": ("code", "id"),
}


def submissions_visible_to(user) -> QuerySet[Submission]:
    return permissions.scope_to_provider(
        Submission.objects.select_related("provider", "collection", "uploaded_by"), user
    )


def submission_get(*, user, pk) -> Submission | None:
    """The submission, if the user may see it (None otherwise: callers answer 404)."""
    # The collection's previous year too: the HIN reports, credibility and approval all read it.
    return submissions_visible_to(user).select_related("collection__previous").filter(pk=pk).first()


def submission_get_or_404(*, user, pk) -> Submission:
    """The submission, if the user may see it; else Http404 (a 404 in screens and, through DRF's
    exception handler, in the API), so another provider's id looks like no id at all."""
    submission = submission_get(user=user, pk=pk)
    if submission is None:
        raise Http404("No such submission.")
    return submission


def collection_get(*, reference: str) -> Collection | None:
    return Collection.objects.filter(reference=reference).select_related("previous").first()


def current_submission(*, provider, collection) -> Submission | None:
    """The latest completed upload (failed, passed or approved): the one that may be approved, and
    whose records the provider's screens for a collection show (review; contact details' web form)."""
    return (
        Submission.objects.filter(provider=provider, collection=collection, status__in=CURRENT_STATUSES)
        .order_by("-pk")
        .first()
    )


def submission_history(*, provider, collection) -> QuerySet[Submission]:
    """Every upload of a provider for a collection, newest first."""
    return Submission.objects.filter(provider=provider, collection=collection).select_related("uploaded_by")


@dataclass(frozen=True)
class RuleSummary:
    code: str
    title: str
    severity: str
    failure_count: int
    description: str


def rule_summaries(*, submission: Submission) -> list[RuleSummary]:
    """One row per rule that ran, with its registered documentation, failing rules first."""
    rows = []
    for result in RuleResult.objects.filter(submission=submission):
        rule = get_rule(result.code)
        rows.append(
            RuleSummary(
                code=result.code,
                title=rule.title if rule else result.code,
                severity=result.severity,
                failure_count=result.failure_count,
                description=rule.description if rule else "",
            )
        )
    rows.sort(key=lambda r: (-r.failure_count, r.severity != "error", r.code))
    return rows


def failures_for(
    *,
    submission: Submission,
    code: str | None = None,
    severity: str | None = None,
    search: str | None = None,
    sort: str | None = None,
) -> QuerySet[RuleFailure]:
    """A submission's rule failures, filtered and sorted; each row carries its student's names (see RuleFailure)."""
    queryset = RuleFailure.objects.filter(submission=submission)
    if code:
        queryset = queryset.filter(code=code)
    if severity:
        queryset = queryset.filter(severity=severity)
    if search:
        search = search.strip()
        students = RuleFailure._meta.get_field("student").related_model.objects
        name = Q(surname__icontains=search) | Q(fnames__icontains=search)
        if (submission.error_count + submission.warning_count) * 4 < submission.student_count:
            # Few failures for many students: look up each failure's own student by its key
            # (measured on 100k students and 2k failures: 8 ms, against 30 ms for the list below).
            named = Q(Exists(students.filter(name, pk=OuterRef("student_id"))))
        else:
            # Many failures: the submission's matching students once, as a subquery, not an OR across
            # the join; on PostgreSQL the trigram indexes (student_record migration 0003) can find them.
            named = Q(student_id__in=students.filter(name, submission=submission).values("id"))
        kind = kinds.find(submission.collection.kind)
        if kind and kind.name_search:
            # A kind whose records carry no names (contact details) finds its people's HUSIDs itself.
            named |= Q(husid__in=kind.name_search(submission, search))
        queryset = queryset.filter(Q(husid__startswith=search) | Q(numhus=search) | named | Q(value__icontains=search))
    descending = bool(sort) and sort.startswith("-")
    fields = FAILURE_SORTS.get((sort or "line").lstrip("-"), FAILURE_SORTS["line"])
    # Plain names, so the screens can page by key (core.pagination) along the indexes.
    return queryset.order_by(*(f"-{f}" if descending else f for f in fields))


def failures_named(*, submission: Submission, failures: list[RuleFailure]) -> list[RuleFailure]:
    """Each failure with its `fnames` and `surname`: as the rules engine stored them from its
    student, or, for a kind whose records carry no names (contact details), the kind's names for
    its HUSID and NUMHUS (one query for the page); None where there is no one to name (a failure of
    the whole file)."""
    failures = list(failures)
    unnamed = [f for f in failures if f.surname is None and f.student_id is None and f.husid]
    kind = kinds.find(submission.collection.kind)
    names = {}
    if unnamed and kind and kind.names:
        names = kind.names(submission, {(f.husid, f.numhus) for f in unnamed})
    for failure in unnamed:
        failure.fnames, failure.surname = names.get((failure.husid, failure.numhus), (None, None))
    return failures


def nulls_as_postgresql(queryset: QuerySet) -> QuerySet:
    """The same order with NULLs placed as PostgreSQL places them (last going up, first going
    down) on every database: a failure of the whole file has no line, and the offline kit's CSV on
    SQLite must equal the portal's on PostgreSQL."""
    return queryset.order_by(
        *(
            F(key[1:]).desc(nulls_first=True) if key.startswith("-") else F(key).asc(nulls_last=True)
            for key in queryset.query.order_by
        )
    )


def failures_total(
    *,
    submission: Submission,
    summaries: list[RuleSummary],
    failures: QuerySet[RuleFailure],
    code: str | None = None,
    severity: str | None = None,
    search: str | None = None,
    **_,
) -> int:
    """How many failures a filter matches, from the per-rule counts the pipeline stored (a completed
    submission's failures never change), so a list needs no COUNT over its rows. With a search, the
    `failures` it matches are counted once per completed run (paging through the results of a
    search then counts nothing again)."""
    if search:
        key = f"failures-search:{code or ''}:{severity or ''}:{search}"
        return settled(submission, key, failures.count)
    return sum(
        s.failure_count for s in summaries if (not code or s.code == code) and (not severity or s.severity == severity)
    )


# A completed run's failures, findings and links never change: figures read from all of them are kept,
# per run (a retry or re-run finishes at another time, so it has other keys), instead of re-read on
# every request. Records archived by retention (and restored by a re-load, which runs again) are
# another state.
SETTLED_TTL = 24 * 3600
_UNSAFE_IN_KEY = re.compile(r"[^A-Za-z0-9:._-]")


def settled_run(submission: Submission) -> str | None:
    """A name for the submission's finished run and the state of its rows, or None while a run is
    in flight: whatever is read from its rows under this name stays true."""
    if submission.is_in_flight or submission.finished_at is None:
        return None
    archived = submission.records_archived_at.timestamp() if submission.records_archived_at else ""
    return f"{submission.finished_at.timestamp()}:{archived}"


def settled(submission: Submission, name: str, compute):
    """`compute()`, kept in the cache for the submission's completed run under `name`."""
    run = settled_run(submission)
    if run is None:
        return compute()
    key = f"settled:{name}:{submission.pk}:{run}"
    if len(key) > 200 or _UNSAFE_IN_KEY.search(key):
        # A search as typed: memcached refuses keys over 250 bytes or with spaces or control
        # characters (Django warns of them on every backend).
        key = f"settled:{hashlib.sha256(key.encode()).hexdigest()}"
    return cache.get_or_set(key, compute, SETTLED_TTL)


def schema_errors_for(*, submission: Submission) -> QuerySet[SchemaError]:
    return SchemaError.objects.filter(submission=submission)


def confirmations_for(*, submission: Submission) -> QuerySet[WarningConfirmation]:
    """The provider's confirmations for the submission's collection (they carry across uploads)."""
    return WarningConfirmation.objects.filter(provider=submission.provider_id, collection=submission.collection_id)


def with_confirmation(queryset: QuerySet[RuleFailure], *, submission: Submission) -> QuerySet[RuleFailure]:
    """Annotate failures with `confirmed`: a confirmation matches their rule, HIN and value."""
    matching = confirmations_for(submission=submission).filter(
        code=OuterRef("code"), husid=OuterRef("husid"), numhus=OuterRef("numhus"), value=OuterRef("value")
    )
    return queryset.annotate(confirmed=Exists(matching))


@dataclass(frozen=True)
class WarningCount:
    code: str
    failures: int
    confirmed: int

    @property
    def outstanding(self) -> int:
        return self.failures - self.confirmed


def warning_counts(*, submission: Submission, summaries: list[RuleSummary] | None = None) -> dict[str, WarningCount]:
    """Per warning rule with failures: how many, and how many of them are confirmed as data quality
    improvements (approval checks the outstanding count against tolerances). Two small queries
    whatever the size of the submission: the failures per rule as the rules engine stored them
    (RuleResult), and the confirmed ones counted from the provider's confirmations, each looking up
    its failures by HUSID in this submission, rather than a look-up of confirmations for each of
    thousands of warnings. `summaries`: the submission's rule_summaries, when the caller has them."""
    if summaries is None:
        failures = dict(
            RuleResult.objects.filter(submission=submission, severity=Severity.WARNING, failure_count__gt=0)
            .order_by("code")
            .values_list("code", "failure_count")
        )
    else:
        failures = {
            s.code: s.failure_count for s in sorted(summaries, key=lambda s: s.code)
            if s.severity == Severity.WARNING and s.failure_count
        }  # fmt: skip
    if not failures:
        return {}
    matching = (
        RuleFailure.objects.filter(
            submission=submission,
            severity=Severity.WARNING,
            husid=OuterRef("husid"),
            numhus=OuterRef("numhus"),
            code=OuterRef("code"),
            value=OuterRef("value"),
        )
        .order_by()
        .values("submission")
        .annotate(n=Count("id"))
        .values("n")
    )
    confirmed = Counter()
    for code, n in (
        confirmations_for(submission=submission)
        .filter(code__in=failures)
        .annotate(n=Subquery(matching))
        .filter(n__gt=0)
        .values_list("code", "n")
    ):
        confirmed[code] += n
    return {code: WarningCount(code, count, confirmed[code]) for code, count in failures.items()}


# An upload missing at least this share of the previous upload's records is probably incomplete
# or exported from the wrong place: the submission page says so prominently.
RECORDS_DROP_SHARE = 10  # percent


def records_drop_warning(*, submission: Submission) -> str:
    """A warning sentence when the upload lost many of the previous upload's records, else ""."""
    removed = submission.records_removed or 0
    if not removed or not submission.previous_submission_id:
        return ""
    previous = (
        Submission.objects.filter(pk=submission.previous_submission_id).values_list("instance_count", flat=True).first()
        or 0
    )
    if not previous or removed * 100 < previous * RECORDS_DROP_SHARE:
        return ""
    return (
        f"{removed:,} of the {previous:,} records of submission {submission.previous_submission_id} are missing "
        f"from this upload ({submission.records_added or 0:,} added). If the file is incomplete or was exported "
        "from the wrong place, upload the whole file again. Students who left must still be returned, with the "
        "date they left."
    )
