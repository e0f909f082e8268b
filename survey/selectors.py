"""Reads for the survey feed: the approved contact details of a cohort, as of a time, and the changes
between two times.

Only approved data is fed: for each provider, the submission whose Approval was current at the time
asked for (approved_at <= at, and not yet superseded then). A submission that passed but was never
approved, or whose approval a newer one superseded, is never read.

Emails have no order: they are given sorted alphabetically (normalised: trimmed, lower case), never
with a position. Phones are given mobiles first: UKMOB, then INTTEL numbers that are mobiles, then
UKTEL and the other INTTEL numbers; in file order within each group. Only details the rules found
valid (problem empty) are fed: an approved file has no others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Q

from collections_app.models import Collection, CollectionKind
from contacts.models import ContactDetail, DetailType, Graduate
from review.models import Approval

MOBILE_NUMBER_TYPES = ("mobile",)
BATCH = 2000
# The feed describes the approved data as of this long ago: an approval's approved_at is taken before its
# transaction commits, so a moment this far back has no approval still to appear (approvals take seconds).
SETTLE = timedelta(seconds=60)


def contact_collection_get(*, reference: str) -> Collection | None:
    return Collection.objects.filter(reference=reference, kind=CollectionKind.CONTACT_DETAILS).first()


def approved_submissions_at(*, collection: Collection, at: datetime) -> dict[int, tuple[int, str]]:
    """{submission id: (provider id, UKPRN)} of the approvals current at `at`, one per provider."""
    rows = (
        Approval.objects.filter(collection=collection, approved_at__lte=at)
        .filter(Q(superseded_at__isnull=True) | Q(superseded_at__gt=at))
        .values_list("submission_id", "provider_id", "provider__ukprn")
    )
    return {submission_id: (provider_id, ukprn) for submission_id, provider_id, ukprn in rows}


def phone_group(detail_type: str, number_type: str) -> int:
    """0 UK mobiles, 1 non-UK mobiles, 2 everything else: the order phones are used in."""
    if detail_type == DetailType.UKMOB:
        return 0
    if detail_type == DetailType.INTTEL and number_type in MOBILE_NUMBER_TYPES:
        return 1
    return 2


@dataclass
class FeedGraduate:
    ukprn: str
    husid: str
    numhus: str
    gradstatus: str
    emails: list[str] = field(default_factory=list)
    phones: list[dict] = field(default_factory=list)  # {"element", "e164"}, mobiles first


def _details_by_graduate(graduate_ids: list[int]) -> dict[int, tuple[list[str], list[dict]]]:
    found: dict[int, tuple[list[str], list]] = defaultdict(lambda: ([], []))
    rows = (
        ContactDetail.objects.filter(graduate_id__in=graduate_ids, problem="")
        .order_by("graduate_id", "line", "id")
        .values_list("graduate_id", "detail_type", "normalised", "number_type", "line")
    )
    for graduate_id, detail_type, normalised, number_type, line in rows:
        emails, phones = found[graduate_id]
        if detail_type == DetailType.EMAIL:
            emails.append(normalised)
        else:
            phones.append((phone_group(detail_type, number_type), line, detail_type, normalised))
    return {
        graduate_id: (
            sorted(set(emails)),
            [{"element": element, "e164": e164} for _, _, element, e164 in sorted(phones)],
        )
        for graduate_id, (emails, phones) in found.items()
    }


def feed_graduates(*, approved: dict[int, tuple[int, str]]):
    """The graduates of the approved submissions, in submission and file order (a queryset to page):
    record ids are submission_id * 10^7 + position, so id order is both."""
    return Graduate.objects.filter(submission_id__in=list(approved)).order_by("id")


def feed_resolve(*, approved: dict[int, tuple[int, str]], graduates) -> list[FeedGraduate]:
    """One page of graduates with their details (one query for all of them)."""
    graduates = list(graduates)
    details = _details_by_graduate([g.id for g in graduates])
    resolved = []
    for g in graduates:
        emails, phones = details.get(g.id, ([], []))
        resolved.append(FeedGraduate(approved[g.submission_id][1], g.husid, g.numhus, g.gradstatus, emails, phones))
    return resolved


def feed_iter(*, approved: dict[int, tuple[int, str]]) -> Iterator[FeedGraduate]:
    """Every graduate of the approved submissions, in batches (for the streamed CSV)."""
    after = 0
    while True:
        batch = list(
            feed_graduates(approved=approved)
            .filter(id__gt=after)
            .only("id", "submission_id", "husid", "numhus", "gradstatus")[:BATCH]
        )
        if not batch:
            return
        yield from feed_resolve(approved=approved, graduates=batch)
        after = batch[-1].id


# -- changes between two times ---------------------------------------------------------------------


@dataclass
class GraduateChange:
    """What changed for one graduate between the approved data at `since` and at `until`.
    change: "added" (a new graduate), "removed" (no longer in the approved data) or "changed"."""

    ukprn: str
    husid: str
    numhus: str
    change: str
    gradstatus: str | None = None  # None: the graduate was removed
    previous_gradstatus: str | None = None  # None: the graduate was added
    emails_added: list[str] = field(default_factory=list)
    emails_removed: list[str] = field(default_factory=list)
    phones_added: list[dict] = field(default_factory=list)
    phones_removed: list[dict] = field(default_factory=list)


# Pairs of (submission approved at `until`, submission approved at `since`, or 0 for none) come in
# as a VALUES list; details are matched on graduate (HUSID+NUMHUS), element and normalised value.
_DETAIL_CHANGES_SQL = """
WITH pair(cur_id, old_id) AS (VALUES {values})
SELECT 'added', p.cur_id, d.husid, d.numhus, d.detail_type, d.normalised, d.number_type, d.line
FROM pair p JOIN go_detail d ON d.submission_id = p.cur_id AND d.problem = ''
WHERE NOT EXISTS (
    SELECT 1 FROM go_detail o
    WHERE o.submission_id = p.old_id AND o.detail_type = d.detail_type AND o.normalised = d.normalised
      AND o.husid = d.husid AND o.numhus = d.numhus AND o.problem = ''
)
UNION ALL
SELECT 'removed', p.cur_id, o.husid, o.numhus, o.detail_type, o.normalised, o.number_type, o.line
FROM pair p JOIN go_detail o ON o.submission_id = p.old_id AND o.problem = ''
WHERE NOT EXISTS (
    SELECT 1 FROM go_detail d
    WHERE d.submission_id = p.cur_id AND d.detail_type = o.detail_type AND d.normalised = o.normalised
      AND d.husid = o.husid AND d.numhus = o.numhus AND d.problem = ''
)
"""

_GRADUATE_CHANGES_SQL = """
WITH pair(cur_id, old_id) AS (VALUES {values})
SELECT p.cur_id, c.husid, c.numhus, c.gradstatus, o.gradstatus, o.id
FROM pair p JOIN go_graduate c ON c.submission_id = p.cur_id
LEFT JOIN go_graduate o ON o.submission_id = p.old_id AND o.husid = c.husid AND o.numhus = c.numhus
WHERE o.id IS NULL OR o.gradstatus <> c.gradstatus
UNION ALL
SELECT p.cur_id, o.husid, o.numhus, NULL, o.gradstatus, o.id
FROM pair p JOIN go_graduate o ON o.submission_id = p.old_id
WHERE NOT EXISTS (
    SELECT 1 FROM go_graduate c WHERE c.submission_id = p.cur_id AND c.husid = o.husid AND c.numhus = o.numhus
)
"""


def feed_changes(*, collection: Collection, since: datetime, until: datetime) -> list[GraduateChange]:
    """Per graduate, what changed in the approved data between `since` and `until`: for every provider
    whose approval current at `until` is not the one current at `since`, its submissions compared as
    sets (no approval at `since`: everything added). Sorted by UKPRN, HUSID, NUMHUS."""
    now = approved_submissions_at(collection=collection, at=until)
    then = {
        provider_id: submission_id
        for submission_id, (provider_id, _) in approved_submissions_at(collection=collection, at=since).items()
    }
    pairs = [
        (submission_id, then.get(provider_id, 0))
        for submission_id, (provider_id, _) in now.items()
        if then.get(provider_id) != submission_id
    ]
    if not pairs:
        return []
    values = ", ".join(["(%s, %s)"] * len(pairs))
    params = [int(value) for pair in pairs for value in pair]
    changes: dict[tuple[int, str, str], GraduateChange] = {}

    def change_for(cur_id, husid, numhus) -> GraduateChange:
        key = (cur_id, husid, numhus)
        if key not in changes:
            changes[key] = GraduateChange(now[cur_id][1], husid, numhus, "changed")
        return changes[key]

    with connection.cursor() as cursor:
        cursor.execute(_GRADUATE_CHANGES_SQL.format(values=values), params)
        for cur_id, husid, numhus, gradstatus, previous, old_id in cursor.fetchall():
            item = change_for(cur_id, husid, numhus)
            item.gradstatus, item.previous_gradstatus = gradstatus, previous
            if gradstatus is None:
                item.change = "removed"
            elif old_id is None:
                item.change = "added"
        cursor.execute(_DETAIL_CHANGES_SQL.format(values=values), params)
        phones: dict[tuple, list] = defaultdict(list)
        for what, cur_id, husid, numhus, detail_type, normalised, number_type, line in cursor.fetchall():
            item = change_for(cur_id, husid, numhus)
            if detail_type == DetailType.EMAIL:
                getattr(item, f"emails_{what}").append(normalised)
            else:
                phones[(cur_id, husid, numhus, what)].append(
                    (phone_group(detail_type, number_type), line, detail_type, normalised)
                )
    if any(item.change == "changed" and item.gradstatus is None for item in changes.values()):
        _fill_unchanged_gradstatus(changes, pairs)
    for (cur_id, husid, numhus, what), found in phones.items():
        setattr(
            changes[(cur_id, husid, numhus)],
            f"phones_{what}",
            [{"element": element, "e164": e164} for _, _, element, e164 in sorted(found)],
        )
    for item in changes.values():
        item.emails_added.sort()
        item.emails_removed.sort()
    return sorted(changes.values(), key=lambda c: (c.ukprn, c.husid, c.numhus))


def _fill_unchanged_gradstatus(changes: dict, pairs: list[tuple[int, int]]) -> None:
    """Graduates whose details changed but not their GRADSTATUS: give it (the same then and now)."""
    wanted = [key for key, item in changes.items() if item.change == "changed" and item.gradstatus is None]
    submissions = {cur_id for cur_id, _, _ in wanted}
    hins = {(husid, numhus) for _, husid, numhus in wanted}
    rows = Graduate.objects.filter(submission_id__in=submissions, husid__in={h for h, _ in hins}).values_list(
        "submission_id", "husid", "numhus", "gradstatus"
    )
    for submission_id, husid, numhus, gradstatus in rows:
        item = changes.get((submission_id, husid, numhus))
        if item is not None and item.change == "changed" and item.gradstatus is None:
            item.gradstatus = item.previous_gradstatus = gradstatus
