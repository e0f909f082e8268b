"""Read-side selectors for the dashboard and liaison screens. They return plain data for templates."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import Provider
from collections_app import kinds
from collections_app.models import Collection, Submission, SubmissionStatus
from core.formatting import uk_datetime_text
from core.sorting import resolve_sort
from review import selectors as review_selectors
from review.models import OverrideStatus
from review.selectors import CollectionState, QueryCounts

PHASE_LABELS = {
    "not_open": "Opens soon",
    "open": "Open",
    "final_updates": "Final updates",
    "closed": "Closed",
}
# Collections opening further ahead than this are listed briefly, not given a card.
OPENS_SOON = timedelta(days=90)


def _local(dt: datetime) -> str:
    return uk_datetime_text(dt)


@dataclass(frozen=True)
class Milestone:
    at: datetime
    text: str


@dataclass(frozen=True)
class CollectionCard:
    collection: Collection
    phase: str
    phase_label: str
    submission: Submission | None
    next_deadline_label: str  # what the countdown counts down to: "approval deadline", "closes"
    next_deadline_at: datetime | None
    milestones: list[Milestone] = field(default_factory=list)
    review: CollectionState | None = None  # approval state: approved (late), updated since approval, signed off
    kind_supported: bool = True  # False: no parser for its kind yet, so no upload is offered


@dataclass(frozen=True)
class ProviderDashboard:
    current: list[CollectionCard]  # open, in final updates, or opening soon
    later: list[CollectionCard]  # opening after OPENS_SOON
    closed: list[CollectionCard]
    queries: QueryCounts | None = None


def collection_milestones(*, collection: Collection) -> list[Milestone]:
    """What happens at each deadline, in the provider's terms."""
    milestones = [Milestone(collection.opens, f"From {_local(collection.opens)} uploads are accepted and checked.")]
    approval = _local(collection.approval_deadline)
    milestones.append(
        Milestone(collection.approval_deadline, f"By {approval} an approver must have approved your data.")
    )
    if collection.closes_at > collection.approval_deadline:
        closes = _local(collection.closes_at)
        milestones.append(
            Milestone(
                collection.approval_deadline,
                f"After {approval} the collection is in final updates: corrections are accepted until "
                f"{closes} and must be approved again.",
            )
        )
    milestones.append(
        Milestone(collection.closes_at, f"After {_local(collection.closes_at)} uploads close; approved data stands.")
    )
    return milestones


def _next_deadline(collection: Collection, phase: str) -> tuple[str, datetime | None]:
    if phase == "not_open":
        return "opens", collection.opens
    if phase == "open":
        return "approval deadline", collection.approval_deadline
    if phase == "final_updates":
        return "closes", collection.closes_at
    return "", None


def _latest_submission_pk(*, provider_ref, collection_ref) -> Subquery:
    """The newest upload for one provider and collection (uses the provider/collection/-uploaded_at index)."""
    return Subquery(
        Submission.objects.filter(provider=provider_ref, collection=collection_ref)
        .order_by("-uploaded_at", "-id")
        .values("pk")[:1]
    )


def provider_dashboard(*, provider: Provider, user=None, at: datetime | None = None) -> ProviderDashboard:
    """Every collection with the provider's current submission and approval state for it, and the
    provider's open queries: a fixed number of queries, however many collections."""
    at = at or timezone.now()
    collections = list(
        Collection.objects.annotate(
            latest_submission_pk=_latest_submission_pk(provider_ref=provider.pk, collection_ref=OuterRef("pk"))
        )
    )
    submission_pks = [c.latest_submission_pk for c in collections if c.latest_submission_pk]
    submissions = Submission.objects.select_related("uploaded_by").in_bulk(submission_pks)
    states = review_selectors.collection_states(providers=[provider], collections=collections)

    current, later, closed = [], [], []
    for collection in collections:
        phase = collection.phase(at)
        label, deadline = _next_deadline(collection, phase)
        card = CollectionCard(
            collection=collection,
            phase=phase,
            phase_label=PHASE_LABELS[phase],
            submission=submissions.get(collection.latest_submission_pk),
            next_deadline_label=label,
            next_deadline_at=deadline,
            milestones=collection_milestones(collection=collection),
            review=states[(provider.pk, collection.pk)],
            kind_supported=kinds.is_registered(collection.kind),
        )
        if phase == "closed":
            closed.append(card)
        elif phase == "not_open" and collection.opens - at > OPENS_SOON:
            later.append(card)
        else:
            current.append(card)
    # Most urgent first; the most recently closed first.
    current.sort(key=lambda card: (card.next_deadline_at, card.collection.reference))
    later.sort(key=lambda card: (card.collection.opens, card.collection.reference))
    closed.sort(key=lambda card: (card.collection.closes_at, card.collection.reference), reverse=True)
    queries = review_selectors.open_query_counts(user=user, provider=provider) if user is not None else None
    return ProviderDashboard(current=current, later=later, closed=closed, queries=queries)


# --- Liaison tables -------------------------------------------------------------------------------


PROVIDER_SORTS = {
    "name": ("name",),
    "ukprn": ("ukprn",),
    "instid": ("instid",),
    "users": ("user_count", "name"),
}
COLLECTION_SORTS = {
    "reference": ("reference",),
    "name": ("name", "reference"),
    "kind": ("kind", "reference"),
    "year": ("reporting_year", "reference"),
    "cohort": ("cohort", "reference"),
    "opens": ("opens", "reference"),
    "approval": ("approval_deadline", "reference"),
    "final": ("final_updates_deadline", "reference"),
}


@dataclass(frozen=True)
class StateCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class ProviderRow:
    provider: Provider
    user_count: int
    latest_states: list[StateCount]  # how many collections' current submission is in each status


@dataclass(frozen=True)
class CollectionRow:
    collection: Collection
    phase: str
    phase_label: str


def latest_state_counts(*, provider_pks: list[int]) -> dict[int, list[StateCount]]:
    """Per provider: the status of its current submission in each collection, counted. One query."""
    rows = (
        Submission.objects.filter(provider__in=provider_pks)
        .filter(pk=_latest_submission_pk(provider_ref=OuterRef("provider"), collection_ref=OuterRef("collection")))
        .values("provider_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    order = {status: i for i, status in enumerate(SubmissionStatus.values)}
    counts: dict[int, list[StateCount]] = defaultdict(list)
    for row in rows:
        status = row["status"]
        counts[row["provider_id"]].append(StateCount(status, SubmissionStatus(status).label, row["n"]))
    for states in counts.values():
        states.sort(key=lambda s: order.get(s.status, 99))
    return counts


def liaison_providers(*, q: str = "", sort: str = "") -> tuple[list[ProviderRow], str]:
    order_by, effective = resolve_sort(sort, table="providers", allowed=PROVIDER_SORTS, default="providers.name")
    providers: QuerySet[Provider] = Provider.objects.annotate(user_count=Count("users"))
    if q:
        providers = providers.filter(Q(name__icontains=q) | Q(ukprn__startswith=q) | Q(instid__startswith=q))
    providers_list = list(providers.order_by(*order_by))
    states = latest_state_counts(provider_pks=[p.pk for p in providers_list])
    rows = [ProviderRow(p, p.user_count, states.get(p.pk, [])) for p in providers_list]
    return rows, effective


def liaison_collections(*, q: str = "", sort: str = "", at: datetime | None = None) -> tuple[list[CollectionRow], str]:
    at = at or timezone.now()
    order_by, effective = resolve_sort(sort, table="collections", allowed=COLLECTION_SORTS, default="-collections.year")
    collections = Collection.objects.all()
    if q:
        collections = collections.filter(Q(reference__icontains=q) | Q(name__icontains=q))
    rows = []
    for collection in collections.order_by(*order_by):
        phase = collection.phase(at)
        rows.append(CollectionRow(collection, phase, PHASE_LABELS[phase]))
    return rows, effective


@dataclass(frozen=True)
class LiaisonReviewSummary:
    queries: QueryCounts
    pending_overrides: int
    awaiting_sign_off: int  # approved on time and not yet signed off (any collection)
    awaiting_sign_off_late: int  # approved late and not yet signed off


def liaison_review_summary(*, user) -> LiaisonReviewSummary:
    """What is waiting for liaison: queries, override decisions, sign-offs."""
    grid = review_selectors.liaison_grid(user=user)
    return LiaisonReviewSummary(
        queries=review_selectors.open_query_counts(user=user),
        pending_overrides=review_selectors.overrides_visible_to(user=user)
        .filter(status=OverrideStatus.PENDING)
        .count(),
        awaiting_sign_off=grid.counts.get("approved", 0),
        awaiting_sign_off_late=grid.counts.get("approved_late", 0),
    )
