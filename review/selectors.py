"""Reads for review and approval. Every read a user drives is scoped with accounts.permissions."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts import permissions
from accounts.models import Provider
from collections_app.models import CURRENT_STATUSES, Collection, CollectionKind, Submission, SubmissionStatus
from collections_app.rules import all_rules, get_rule
from collections_app.selectors import WarningCount, current_submission, warning_counts
from contacts.models import Graduate
from core.formatting import uk_datetime_text
from credibility.models import CredibilityCell
from student_record.models import Instance

from .models import (
    Approval,
    OverrideRequest,
    OverrideStatus,
    Query,
    QueryMessage,
    QueryStatus,
    RuleTolerance,
    SignOff,
)

# A collection's state for one provider, in the order the liaison grid shows them.
STATES = {
    "none": "No submission",
    "processing": "Processing",
    "failed": "Failed",
    "passed": "Passed",
    "approved": "Approved",
    "approved_late": "Approved late",
    "updated": "Updated since approval",
    "signed_off": "Signed off",
}
# Statuses of an upload that count as "failed" in the grid (the real status is kept for display).
FAILED_STATUSES = (SubmissionStatus.REJECTED, SubmissionStatus.FAILED, SubmissionStatus.ERROR)
UNRESOLVED_QUERY = (QueryStatus.OPEN, QueryStatus.ANSWERED)
CENT = Decimal("0.01")


# -- tolerances and overrides ------------------------------------------------------------------


def percent_of(count: int, records: int) -> Decimal:
    """`count` as a percentage of `records`, rounded to 2 places (1 in 300 is 0.33, 2 in 300 is 0.67),
    but fewer than all never shown as 100.00 (percent_text says "under 0.01%" for a share that rounds
    to 0.00). For display only: whether a share is within a tolerance or override is decided exactly
    (share_within), so rounding never lets a share pass a limit it exceeds."""
    if records <= 0:
        return Decimal(100) if count else Decimal(0)
    percent = (Decimal(count) * 100 / Decimal(records)).quantize(CENT, rounding=ROUND_HALF_UP)
    return Decimal(100) - CENT if count < records and percent == 100 else percent


def percent_needed(count: int, records: int) -> Decimal:
    """The smallest 2-place percentage that covers `count` of `records` (for override requests)."""
    if records <= 0:
        return Decimal(100) if count else Decimal(0)
    return (Decimal(count) * 100 / Decimal(records)).quantize(CENT, rounding=ROUND_UP)


def percent_text(count: int, records: int) -> str:
    """The share as people read it: "0.33%"; a non-zero share below 0.01% is "under 0.01%", not "0.00%"."""
    percent = percent_of(count, records)
    return "under 0.01%" if count and not percent else f"{percent}%"


def share_within(count: int, records: int, percent: Decimal) -> bool:
    """Exactly: count / records <= percent / 100 (no rounded figure involved)."""
    return Decimal(count) * 100 <= Decimal(percent) * max(records, 0)


def _plain(number: Decimal) -> str:
    """2.00 -> "2", 2.50 -> "2.5"."""
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class EffectiveTolerance:
    """The tolerance that applies to a warning rule in a collection: liaison's (source
    "collection"), else the rule's code default ("default"); with neither it is zero ("none").
    Exactly one of percent and count is set, except for "none"."""

    percent: Decimal | None = None
    count: int | None = None
    source: str = "none"
    updated_by: object = None
    updated_at: object = None

    @property
    def is_zero(self) -> bool:
        return not self.percent and not self.count

    def allows(self, outstanding: int, records: int) -> bool:
        if outstanding <= 0:
            return True
        if self.percent is not None:
            return share_within(outstanding, records, self.percent)
        return outstanding <= (self.count or 0)

    def __str__(self):
        if self.is_zero:
            return "0% – any warning blocks approval"
        if self.percent is not None:
            return f"up to {_plain(self.percent)}% of records"
        return f"up to {self.count:,} record{'s' if self.count != 1 else ''}"


def _default_tolerance(code: str) -> EffectiveTolerance:
    rule = get_rule(code)
    tolerance = rule.tolerance if rule else None
    if tolerance is None:
        return EffectiveTolerance()
    if tolerance.percent is not None:
        return EffectiveTolerance(percent=Decimal(str(tolerance.percent)), source="default")
    return EffectiveTolerance(count=tolerance.count or 0, source="default")


def _stored_tolerance(stored: RuleTolerance) -> EffectiveTolerance:
    return EffectiveTolerance(
        percent=stored.percent,
        count=stored.count,
        source="collection",
        updated_by=stored.updated_by,
        updated_at=stored.updated_at,
    )


def tolerances_for(*, collection_id: int) -> dict[str, EffectiveTolerance]:
    """Liaison's stored tolerances for the collection by rule code (one query); rules without one
    fall back to tolerance_of's default."""
    return {
        t.code: _stored_tolerance(t)
        for t in RuleTolerance.objects.filter(collection=collection_id).select_related("updated_by")
    }


def tolerance_of(code: str, stored: dict[str, EffectiveTolerance]) -> EffectiveTolerance:
    return stored.get(code) or _default_tolerance(code)


def warning_rules_for(collection: Collection) -> list:
    """Every warning rule that runs on the collection's kind (all stages), by code."""
    return [r for r in all_rules() if r.record_kind == collection.kind and not r.is_error]


@dataclass(frozen=True)
class RuleToleranceRow:
    code: str
    title: str
    applies_to: str
    tolerance: EffectiveTolerance
    default: EffectiveTolerance  # the rule's code default, shown beside liaison's value


def collection_tolerances(*, collection: Collection) -> list[RuleToleranceRow]:
    """Every warning rule of the collection with the tolerance that applies (two reads, one query)."""
    stored = tolerances_for(collection_id=collection.pk)
    return [
        RuleToleranceRow(
            code=r.code,
            title=r.title,
            applies_to=r.applies_to,
            tolerance=tolerance_of(r.code, stored),
            default=_default_tolerance(r.code),
        )
        for r in warning_rules_for(collection)
    ]


def records_for(submission: Submission, code: str) -> int:
    """What a rule's percentage is of: students for student-level rules, else instances."""
    rule = get_rule(code)
    if rule is not None and rule.applies_to == "student":
        return submission.student_count
    return submission.instance_count


@dataclass(frozen=True)
class WarningTolerance:
    code: str
    title: str
    failures: int
    confirmed: int
    outstanding: int  # failures not confirmed as data quality improvements
    records: int
    percent: Decimal  # outstanding as a percentage of records, rounded to 2 places (display only)
    tolerance: str  # in words, e.g. "up to 2% of records" or "0% – any warning blocks approval"
    tolerance_source: str  # "collection" (set by liaison), "default" (the rule's) or "none"
    within_tolerance: bool
    covered: bool  # by an approved override whose percentage covers the exact share
    override: OverrideRequest | None  # the covering override, else the latest request for the rule

    @property
    def override_status(self) -> str:
        return self.override.status if self.override else ""

    @property
    def blocks_approval(self) -> bool:
        return not self.within_tolerance and not self.covered

    @property
    def percent_text(self) -> str:
        return percent_text(self.outstanding, self.records)


def overrides_for(*, submission: Submission) -> QuerySet[OverrideRequest]:
    """Every override request for the submission's provider and collection (they carry across
    uploads), newest first, with who asked and who decided."""
    return OverrideRequest.objects.filter(
        provider=submission.provider_id, collection=submission.collection_id
    ).select_related("requested_by", "decided_by", "submission")


def overrides_visible_to(*, user) -> QuerySet[OverrideRequest]:
    return permissions.scope_to_provider(
        OverrideRequest.objects.select_related("provider", "collection", "requested_by", "decided_by"), user
    )


def warnings_over_tolerance(
    *,
    submission: Submission,
    only_blocking: bool = False,
    counts: dict[str, WarningCount] | None = None,
    overrides: list[OverrideRequest] | None = None,
) -> list[WarningTolerance]:
    """Per warning rule with outstanding failures: the figures, its tolerance and any override.
    `blocks_approval` says whether it stops approval. Two queries, fewer when the caller already has
    the submission's warning_counts (`counts`) or its `overrides_for` (newest first)."""
    by_code = defaultdict(list)
    for override in overrides_for(submission=submission) if overrides is None else overrides:  # newest first
        by_code[override.code].append(override)
    stored = tolerances_for(collection_id=submission.collection_id)
    rows = []
    if counts is None:
        counts = warning_counts(submission=submission)
    for code, count in counts.items():
        if count.outstanding <= 0:
            continue
        rule = get_rule(code)
        records = records_for(submission, code)
        percent = percent_of(count.outstanding, records)
        tolerance = tolerance_of(code, stored)
        covering = next(
            (
                o
                for o in by_code[code]
                if o.status == OverrideStatus.APPROVED and share_within(count.outstanding, records, o.percent)
            ),
            None,
        )
        row = WarningTolerance(
            code=code,
            title=rule.title if rule else code,
            failures=count.failures,
            confirmed=count.confirmed,
            outstanding=count.outstanding,
            records=records,
            percent=percent,
            tolerance=str(tolerance),
            tolerance_source=tolerance.source,
            within_tolerance=tolerance.allows(count.outstanding, records),
            covered=covering is not None,
            override=covering or (by_code[code][0] if by_code[code] else None),
        )
        if row.blocks_approval or not only_blocking:
            rows.append(row)
    return rows


# -- approval ----------------------------------------------------------------------------------


def current_approval(*, provider, collection) -> Approval | None:
    return (
        Approval.objects.filter(provider=provider, collection=collection, superseded_at__isnull=True)
        .select_related("approved_by", "submission")
        .first()
    )


def unanswered_blocking_queries(*, provider, collection) -> QuerySet[Query]:
    """Queries marked "must be answered before approval" still waiting for a provider response."""
    return Query.objects.filter(
        provider=provider, collection=collection, blocks_approval=True, status=QueryStatus.OPEN
    ).order_by("raised_at", "id")


def approval_refusals(
    *, submission: Submission, at=None, tolerance_rows: list[WarningTolerance] | None = None
) -> list[tuple[str, str]]:
    """(code, sentence) for everything that stops `submission` being approved now. `tolerance_rows`:
    its warnings_over_tolerance, when the caller has read them already (not read twice)."""
    at = at or timezone.now()
    collection = submission.collection
    found = []
    if collection.phase(at) == "closed":
        found.append(
            (
                "collection_closed",
                f"{collection.reference} closed on {uk_datetime_text(collection.closes_at)}: approvals are no longer "
                "accepted. What was approved stands; contact Liaison if it must change.",
            )
        )
    elif collection.phase(at) == "not_open":
        found.append(("collection_not_open", f"{collection.reference} is not open yet."))
    status = submission.status
    if status == SubmissionStatus.APPROVED:
        found.append(("already_approved", "This submission is already approved."))
    elif status in (SubmissionStatus.QUEUED, SubmissionStatus.PROCESSING):
        found.append(("not_finished", "This submission is still being processed: wait for its verdict."))
    elif status == SubmissionStatus.SUPERSEDED:
        found.append(("not_current", "A newer upload has replaced this one: approve the latest submission."))
    elif status != SubmissionStatus.PASSED:
        found.append(
            (
                "not_passed",
                f"This submission {SubmissionStatus(status).label.lower()}: only a submission with no errors "
                "can be approved. Fix the data and upload it again.",
            )
        )
    else:
        newer = Submission.objects.filter(
            provider=submission.provider_id,
            collection=submission.collection_id,
            pk__gt=submission.pk,
            status__in=CURRENT_STATUSES,
        ).exists()
        if newer:
            found.append(("not_current", "A newer upload has completed since this one: approve the latest submission."))
    if status == SubmissionStatus.PASSED:
        if tolerance_rows is None:
            tolerance_rows = warnings_over_tolerance(submission=submission, only_blocking=True)
        for row in (r for r in tolerance_rows if r.blocks_approval):
            if row.override and row.override.status == OverrideStatus.PENDING:
                todo = "your override request is waiting for Liaison's decision"
            else:
                todo = "fix the data, confirm them as data quality improvements, or request an override"
            found.append(
                (
                    "warnings_over_tolerance",
                    f"Check {row.code}: {row.outstanding:,} outstanding warning{'s' if row.outstanding != 1 else ''} "
                    f"({row.percent_text} of records; tolerance {row.tolerance}): {todo}.",
                )
            )
    for query in unanswered_blocking_queries(provider=submission.provider_id, collection=submission.collection_id):
        found.append(("query_unanswered", f'Answer the query "{query.subject}" before approving.'))
    return found


def approval_blockers(
    *, submission: Submission, at=None, tolerance_rows: list[WarningTolerance] | None = None
) -> list[str]:
    """What stops the submission being approved, each a sentence saying what to do; empty: it may be.
    (The user's role is checked separately: permissions.can_approve_for.)"""
    return [message for _, message in approval_refusals(submission=submission, at=at, tolerance_rows=tolerance_rows)]


# -- collection state --------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionState:
    state: str
    label: str
    latest_id: int | None = None  # the newest upload, any status
    latest_status: str = ""  # its real status (e.g. rejected, shown as failed)
    current_id: int | None = None  # the newest completed upload
    approval: Approval | None = None
    sign_off: SignOff | None = None
    open_queries: int = 0  # unresolved: waiting for either side
    credibility_flags: int = 0  # flagged credibility figures of the current upload
    approved_no_longer_passes: bool = False  # a re-run of the approved submission found it failing

    @property
    def late(self) -> bool:
        return bool(self.approval and self.approval.late)

    @property
    def latest_status_label(self) -> str:
        return SubmissionStatus(self.latest_status).label if self.latest_status else ""

    @property
    def status_note(self) -> str:
        """The latest upload's own status where the state does not already say it ("rejected"
        under "Failed"; nothing under "Failed" for a failed upload)."""
        note = self.latest_status_label.lower()
        return note if note and note != self.label.lower() and self.state == "failed" else ""


def _state_of(latest_id, latest_status, current_id, approval, sign_off) -> str:
    if approval is not None:
        if current_id and current_id > approval.submission_id:
            return "updated"
        if sign_off is not None:
            return "signed_off"
        return "approved_late" if approval.late else "approved"
    if latest_id is None:
        return "none"
    if latest_status in (SubmissionStatus.QUEUED, SubmissionStatus.PROCESSING):
        return "processing"
    if latest_status in FAILED_STATUSES:
        return "failed"
    return "passed"


def _make_state(
    latest_id, latest_status, current_id, approval, sign_off, open_queries, credibility_flags=0
) -> CollectionState:
    state = _state_of(latest_id, latest_status, current_id, approval, sign_off)
    return CollectionState(
        state=state,
        label=STATES[state],
        latest_id=latest_id,
        latest_status=latest_status or "",
        current_id=current_id,
        approval=approval,
        sign_off=sign_off,
        open_queries=open_queries,
        credibility_flags=credibility_flags,
        approved_no_longer_passes=bool(approval and approval.submission.approved_no_longer_passes),
    )


def collection_state(*, provider, collection) -> CollectionState:
    """Where the provider's collection stands: none, processing, failed, passed, approved,
    approved_late, updated (since approval) or signed_off."""
    latest = Submission.objects.filter(provider=provider, collection=collection).order_by("-pk").first()
    # The newest upload is the current one when it is completed (the usual case): no second query.
    if latest is not None and latest.status in CURRENT_STATUSES:
        current = latest
    else:
        current = current_submission(provider=provider, collection=collection)
    approval = current_approval(provider=provider, collection=collection)
    sign_off = current_sign_off(provider=provider, collection=collection)
    open_queries = Query.objects.filter(provider=provider, collection=collection, status__in=UNRESOLVED_QUERY).count()
    return _make_state(
        latest.pk if latest else None,
        latest.status if latest else "",
        current.pk if current else None,
        approval,
        sign_off,
        open_queries,
    )


def current_sign_off(*, provider, collection) -> SignOff | None:
    return (
        SignOff.objects.filter(provider=provider, collection=collection, reopened_at__isnull=True)
        .select_related("signed_off_by", "approval")
        .first()
    )


# -- liaison grid ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridCell:
    provider: Provider
    collection: Collection
    status: CollectionState

    @property
    def state(self) -> str:
        return self.status.state


@dataclass(frozen=True)
class GridRow:
    provider: Provider
    cells: list[GridCell]


@dataclass(frozen=True)
class CollectionSummary:
    """One column of the grid summed up: cells by state over the rows shown, and its deadline."""

    collection: Collection
    counts: dict[str, int]  # every state, zero too
    total: int
    now: object = None

    @property
    def segments(self) -> list[tuple[str, str, int, float, float]]:
        """(state, label, count, start %, width %) of each non-empty state, for a stacked bar."""
        out, start = [], 0.0
        for name, label in STATES.items():
            n = self.counts.get(name, 0)
            if n:
                out.append((name, label, n, start, 100 * n / self.total))
                start += 100 * n / self.total
        return out

    @property
    def days_to_deadline(self) -> int | None:
        """Whole days until the approval deadline (negative once it has passed), London dates."""
        if self.now is None:
            return None
        today = timezone.localdate(self.now)
        return (timezone.localdate(self.collection.approval_deadline) - today).days

    @property
    def deadline_text(self) -> str:
        days = self.days_to_deadline
        if days is None:
            return ""
        if days == 0:
            return "Approval deadline today"
        if days > 0:
            return f"{days} day{'s' if days != 1 else ''} to the approval deadline"
        return f"Approval deadline passed {-days} day{'s' if days != -1 else ''} ago"


@dataclass(frozen=True)
class Grid:
    collections: list[Collection]
    rows: list[GridRow]
    counts: dict[str, int] = field(default_factory=dict)  # every state, zero too, over the cells shown
    summaries: list[CollectionSummary] = field(default_factory=list)  # one per column, same order


def collection_states(
    *, providers, collections, scope: QuerySet | None = None
) -> dict[tuple[int, int], CollectionState]:
    """collection_state for every (provider id, collection id) pair, in five queries. `scope`: the
    providers' queryset, filtered in SQL as a subquery (for the whole sector's grid, rather than
    200 ids bound as parameters in each of the queries)."""
    provider_ids = [p.pk for p in providers]
    collection_ids = [c.pk for c in collections]
    in_scope = provider_ids if scope is None else scope.values("pk")
    pairs = {
        (row["provider_id"], row["collection_id"]): row
        for row in Submission.objects.filter(provider__in=in_scope, collection__in=collection_ids)
        .values("provider_id", "collection_id")
        .annotate(latest=Max("pk"), current=Max("pk", filter=Q(status__in=CURRENT_STATUSES)))
        .order_by()
    }
    # The latest and the current upload of each pair, with the current one's credibility flags.
    flagged = (
        CredibilityCell.objects.filter(submission=OuterRef("pk"), flagged=True)
        .order_by()
        .values("submission")
        .annotate(n=Count("id"))
        .values("n")
    )
    uploads = {
        pk: (status, flags)
        for pk, status, flags in Submission.objects.filter(
            pk__in=[row[k] for row in pairs.values() for k in ("latest", "current") if row[k]]
        )
        .annotate(flags=Coalesce(Subquery(flagged), 0))
        .values_list("pk", "status", "flags")
    }
    statuses = {pk: status for pk, (status, _) in uploads.items()}
    approvals = {
        (a.provider_id, a.collection_id): a
        for a in Approval.objects.filter(
            provider__in=in_scope, collection__in=collection_ids, superseded_at__isnull=True
        ).select_related("approved_by", "submission")
    }
    sign_offs = {
        (s.provider_id, s.collection_id): s
        for s in SignOff.objects.filter(
            provider__in=in_scope, collection__in=collection_ids, reopened_at__isnull=True
        ).select_related("signed_off_by")
    }
    open_queries = {
        (row["provider_id"], row["collection_id"]): row["n"]
        for row in Query.objects.filter(
            provider__in=in_scope, collection__in=collection_ids, status__in=UNRESOLVED_QUERY
        )
        .values("provider_id", "collection_id")
        .annotate(n=Count("id"))
        .order_by()
    }
    states = {}
    for provider_id in provider_ids:
        for collection_id in collection_ids:
            key = (provider_id, collection_id)
            pair = pairs.get(key, {})
            latest = pair.get("latest")
            states[key] = _make_state(
                latest,
                statuses.get(latest, ""),
                pair.get("current"),
                approvals.get(key),
                sign_offs.get(key),
                open_queries.get(key, 0),
                uploads.get(pair.get("current"), ("", 0))[1],
            )
    return states


def grid_collections(*, include_closed: bool, now=None) -> QuerySet[Collection]:
    """The collections the grid offers: those not yet closed (open, upcoming, in final updates),
    or every one with `include_closed`."""
    collections = Collection.objects.all()
    if include_closed:
        return collections
    now = now or timezone.now()
    # closes_at is the later of the two deadlines (Collection.closes_at)
    return collections.filter(Q(approval_deadline__gt=now) | Q(final_updates_deadline__gt=now))


def liaison_grid(
    *,
    user,
    collections: list[str] | None = None,
    search: str = "",
    state: str = "",
    include_closed: bool = False,
    now=None,
) -> Grid:
    """Providers (rows) x collections (columns), each cell the collection's state for the provider.
    Liaison see every provider, provider staff their own row. Columns: the collections not yet
    closed unless `include_closed`, narrowed to `collections` (references) if given. Filters:
    `search` (provider name or UKPRN), `state` (rows with at least one cell in it). A fixed
    number of queries (seven), whatever the size of the grid."""
    now = now or timezone.now()
    providers_qs = permissions.visible_providers(user)
    if search:
        search = search.strip()
        providers_qs = providers_qs.filter(Q(name__icontains=search) | Q(ukprn__startswith=search))
    providers = list(providers_qs.order_by("name"))
    collections_qs = grid_collections(include_closed=include_closed or bool(collections), now=now)
    if collections:
        collections_qs = collections_qs.filter(reference__in=collections)
    columns = list(collections_qs)
    states = collection_states(providers=providers, collections=columns, scope=providers_qs)
    rows = []
    counts = Counter({name: 0 for name in STATES})
    for provider in providers:
        cells = []
        for collection in columns:
            cells.append(GridCell(provider, collection, states[(provider.pk, collection.pk)]))
        if state and not any(cell.state == state for cell in cells):
            continue
        counts.update(cell.state for cell in cells)
        rows.append(GridRow(provider, cells))
    summaries = []
    for index, collection in enumerate(columns):
        column = Counter({name: 0 for name in STATES})
        column.update(row.cells[index].state for row in rows)
        summaries.append(CollectionSummary(collection=collection, counts=dict(column), total=len(rows), now=now))
    return Grid(collections=columns, rows=rows, counts=dict(counts), summaries=summaries)


@dataclass(frozen=True)
class Latest:
    """The newest rows of a list, capped, and how many the whole list has."""

    rows: list
    total: int

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass(frozen=True)
class ProviderOverview:
    """Everything liaison reads about one provider on its page."""

    provider: Provider
    collections: list[GridCell]  # every collection, newest first, with the provider's state
    submissions: Latest  # newest first, capped; the whole list is on each collection's page
    queries: Latest  # the whole list: the queries page, filtered to the provider
    overrides: Latest  # the whole list: the override requests page, filtered to the provider
    people: list  # the provider's active users: who to contact


PROVIDER_PAGE_LIMIT = 50


def provider_overview(*, user, provider: Provider) -> ProviderOverview:
    """A provider's collections (with states), latest submissions, queries, overrides and people.
    A fixed number of queries whatever the provider's history; each list capped."""
    collections = list(Collection.objects.all())
    states = collection_states(providers=[provider], collections=collections)
    submissions = Submission.objects.filter(provider=provider)
    queries = queries_for(user=user, provider=provider)
    overrides = overrides_visible_to(user=user).filter(provider=provider)
    people = list(provider.users.filter(is_active=True).order_by("last_name", "first_name", "username"))
    return ProviderOverview(
        provider=provider,
        collections=[GridCell(provider, c, states[(provider.pk, c.pk)]) for c in collections],
        submissions=_latest(submissions.select_related("collection", "uploaded_by").order_by("-pk")),
        queries=_latest(queries.order_by("-updated_at", "-pk")),
        overrides=_latest(overrides.order_by("-requested_at", "-pk")),
        people=people,
    )


def _latest(queryset: QuerySet) -> Latest:
    """The first PROVIDER_PAGE_LIMIT rows, and how many there are (counted only when there are more)."""
    rows = list(queryset[: PROVIDER_PAGE_LIMIT + 1])
    total = queryset.count() if len(rows) > PROVIDER_PAGE_LIMIT else len(rows)
    return Latest(rows[:PROVIDER_PAGE_LIMIT], total)


GRID_CSV_HEADER = [
    "UKPRN",
    "Provider",
    "Collection",
    "State",
    "Latest upload status",
    "Latest submission",
    "Approved submission",
    "Approved at",
    "Approved late",
    "Signed off at",
    "Open queries",
]


def liaison_grid_csv_rows(grid: Grid):
    """The grid as CSV rows (header first), one per provider and collection; times in UK format."""
    yield GRID_CSV_HEADER
    for row in grid.rows:
        for cell in row.cells:
            status = cell.status
            approval, sign_off = status.approval, status.sign_off
            yield [
                row.provider.ukprn,
                row.provider.name,
                cell.collection.reference,
                status.label,
                status.latest_status_label,
                status.latest_id or "",
                approval.submission_id if approval else "",
                uk_datetime_text(approval.approved_at) if approval else "",
                "yes" if status.late else "",
                uk_datetime_text(sign_off.signed_off_at) if sign_off else "",
                status.open_queries,
            ]


# -- queries -----------------------------------------------------------------------------------


def queries_visible_to(*, user) -> QuerySet[Query]:
    """Queries the user may see (liaison: all; provider staff: their provider's), newest activity first."""
    return permissions.scope_to_provider(
        Query.objects.select_related("provider", "collection", "raised_by", "submission"), user
    )


def query_get(*, user, pk) -> Query | None:
    return queries_visible_to(user=user).filter(pk=pk).first()


def queries_for(*, user, provider=None, collection=None, submission=None, status=None) -> QuerySet[Query]:
    queryset = queries_visible_to(user=user)
    if submission is not None:
        provider, collection = submission.provider_id, submission.collection_id
    if provider is not None:
        queryset = queryset.filter(provider=provider)
    if collection is not None:
        queryset = queryset.filter(collection=collection)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


# Per kind, the stored rows a query's HUSID and NUMHUS name: one per HUSID and NUMHUS, indexed on
# (submission, husid, numhus).
QUERY_RECORDS = {CollectionKind.STUDENT_RECORD: Instance, CollectionKind.CONTACT_DETAILS: Graduate}


def record_in_submission(*, submission: Submission, husid: str, numhus: str = "") -> bool | None:
    """Whether the submission's stored records include HUSID `husid` (with NUMHUS `numhus`, if
    given); None for a kind whose records review does not know."""
    model = QUERY_RECORDS.get(submission.collection.kind)
    if model is None:
        return None
    rows = model.objects.filter(submission=submission.pk, husid=husid)
    if numhus:
        rows = rows.filter(numhus=numhus)
    return rows.exists()


def query_messages(*, query: Query) -> QuerySet[QueryMessage]:
    return QueryMessage.objects.filter(query=query).select_related("author")


@dataclass(frozen=True)
class QueryCounts:
    awaiting_provider: int  # open: the provider has to respond
    awaiting_liaison: int  # answered: liaison has to accept or reopen
    blocking: int  # open and marked "must be answered before approval"

    @property
    def unresolved(self) -> int:
        return self.awaiting_provider + self.awaiting_liaison


def open_query_counts(*, user, provider=None, collection=None) -> QueryCounts:
    """Unresolved queries the user may see, by whose turn it is. One query."""
    queryset = queries_visible_to(user=user)
    if provider is not None:
        queryset = queryset.filter(provider=provider)
    if collection is not None:
        queryset = queryset.filter(collection=collection)
    totals = queryset.aggregate(
        awaiting_provider=Count("id", filter=Q(status=QueryStatus.OPEN)),
        awaiting_liaison=Count("id", filter=Q(status=QueryStatus.ANSWERED)),
        blocking=Count("id", filter=Q(status=QueryStatus.OPEN, blocks_approval=True)),
    )
    return QueryCounts(**totals)


# -- deadlines ---------------------------------------------------------------------------------

NOT_APPROVED = ("none", "processing", "failed", "passed")
AT_RISK = (*NOT_APPROVED, "updated")
# Collections enter the liaison digest this many London days before their approval deadline.
AT_RISK_DAYS = 14


def london_days_until(deadline, *, now=None) -> int:
    """Calendar days from today to the deadline's day, both in Europe/London (TIME_ZONE)."""
    now = now or timezone.now()
    return (timezone.localdate(deadline) - timezone.localdate(now)).days


@dataclass(frozen=True)
class AtRisk:
    collection: Collection
    provider: Provider
    status: CollectionState
    days_left: int  # to the approval deadline; negative once it has passed (final updates)


def providers_at_risk(*, now=None) -> list[AtRisk]:
    """Providers whose collection is open with its approval deadline at most AT_RISK_DAYS away (or
    passed, in final updates) and whose latest data is not approved. Fixed number of queries."""
    now = now or timezone.now()
    collections = [
        c
        for c in Collection.objects.filter(opens__lte=now)
        if c.phase(now) in ("open", "final_updates") and london_days_until(c.approval_deadline, now=now) <= AT_RISK_DAYS
    ]
    providers = list(Provider.objects.order_by("name"))
    states = collection_states(providers=providers, collections=collections)
    return [
        AtRisk(
            collection,
            provider,
            states[(provider.pk, collection.pk)],
            london_days_until(collection.approval_deadline, now=now),
        )
        for collection in collections
        for provider in providers
        if states[(provider.pk, collection.pk)].state in AT_RISK
    ]
