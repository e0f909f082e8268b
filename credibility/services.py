"""Writes of the credibility app: the pipeline stage computing a submission's cells, the
collection's threshold (liaison) and a cell's explanation (the provider). Each write by a person
is audited."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounts import permissions
from collections_app.models import Collection, Submission
from core.audit import audit_record
from core.errors import ActionRefused
from hin.selectors import previous_year_submission

from . import tables
from .models import CredibilityCell, CredibilityExplanation, CredibilityThreshold
from .selectors import Threshold, approved_this_year, is_flagged, threshold_for

# One pass over the three submissions' instances (this one, last year's approved, this year's
# approved), each instance counted once per table. PostgreSQL groups the sets in one scan
# (GROUPING SETS); SQLite, which has none, gets the same rows from a UNION ALL of the groupings.
_FACTS = f"""
SELECT i.submission_id AS sid,
       {tables.LEVEL_SQL} AS level,
       {tables.MODE_SQL} AS mode,
       i.qualaim AS qualaim,
       CASE WHEN i.comdate BETWEEN
                 (CASE WHEN i.submission_id = %(previous)s THEN %(previous_start)s ELSE %(start)s END)
             AND (CASE WHEN i.submission_id = %(previous)s THEN %(previous_end)s ELSE %(end)s END)
            THEN {tables.LEVEL_SQL} END AS entrants,
       NULLIF(i.rsnleave, '') AS leavers,
       {tables.DOMICILE_SQL} AS domicile,
       s.gender AS gender,
       s.ethnic AS ethnic
FROM sr_instance i JOIN sr_student s ON s.id = i.student_id
WHERE i.submission_id IN (%(current)s, %(previous)s, %(approved)s)
"""
_COLUMNS = [table.key for table in tables.TABLES]

_POSTGRES = f"""
SELECT sid, {", ".join(f"{c}" for c in _COLUMNS)}, GROUPING({", ".join(_COLUMNS)}) AS g, COUNT(*)
FROM ({_FACTS}) f
GROUP BY sid, GROUPING SETS ({", ".join(f"({c})" for c in _COLUMNS)})
"""


def _portable() -> str:
    parts = [
        f"SELECT sid, '{column}' AS tbl, {column} AS category, COUNT(*) FROM facts "
        f"WHERE {column} IS NOT NULL GROUP BY sid, {column}"
        for column in _COLUMNS
    ]
    return f"WITH facts AS ({_FACTS}) " + " UNION ALL ".join(parts)


def _period(collection: Collection | None) -> tuple[date, date]:
    if collection is None:
        return date(1, 1, 1), date(1, 1, 1)
    return collection.reporting_period_start, collection.reporting_period_end


def _counts(submission: Submission, previous: Submission | None, approved: Submission | None) -> dict:
    """{(table, category): {submission id: count}} in one query."""
    start, end = _period(submission.collection)
    previous_start, previous_end = _period(previous.collection if previous else None)
    params = {
        "current": submission.pk,
        "previous": previous.pk if previous else -1,
        "approved": approved.pk if approved else -1,
        "start": start,
        "end": end,
        "previous_start": previous_start,
        "previous_end": previous_end,
    }
    counts: dict = defaultdict(dict)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_POSTGRES, params)
            width = len(_COLUMNS)
            for row in cursor.fetchall():
                sid, values, grouping, n = row[0], row[1 : 1 + width], row[1 + width], row[2 + width]
                # GROUPING(...) has a 0 bit for the one column grouped in this set.
                index = next(k for k in range(width) if not grouping & (1 << (width - 1 - k)))
                if values[index] is not None:
                    counts[(_COLUMNS[index], values[index])][sid] = n
        else:
            cursor.execute(_portable(), params)
            for sid, table, category, n in cursor.fetchall():
                counts[(table, category)][sid] = n
    return counts


def submission_credibility(*, submission: Submission, progress=None) -> str:
    """The pipeline stage: compute and cache the submission's cells (replacing any from an earlier
    run in one transaction, so a re-run or a killed run leaves one set). Returns the sentence
    added to the verdict message."""
    previous = previous_year_submission(submission=submission)
    approved = approved_this_year(submission=submission)
    counts = _counts(submission, previous, approved)
    threshold = threshold_for(collection_id=submission.collection_id)
    cells = []
    for table in tables.TABLES:
        categories = [code for code, _ in table.fixed]
        categories += sorted(c for (t, c) in counts if t == table.key and c not in categories)
        for category in categories:
            by_sid = counts.get((table.key, category), {})
            count = by_sid.get(submission.pk, 0)
            previous_count = by_sid.get(previous.pk, 0) if previous else None
            cells.append(
                CredibilityCell(
                    submission=submission,
                    table=table.key,
                    category=category,
                    count=count,
                    previous_count=previous_count,
                    approved_count=by_sid.get(approved.pk, 0) if approved else None,
                    flagged=is_flagged(count, previous_count, threshold),
                )
            )
    with transaction.atomic():
        CredibilityCell.objects.filter(submission=submission).delete()
        CredibilityCell.objects.bulk_create(cells)
    if progress:
        progress(1, 1)
    flagged = sum(cell.flagged for cell in cells)
    if not flagged:
        return ""
    return f"{flagged:,} credibility figure{'s' if flagged != 1 else ''} moved beyond the threshold."


MAX_MIN_RECORDS = 10_000_000


def threshold_set(*, collection: Collection, percent, min_records, user) -> CredibilityThreshold:
    """Liaison sets the collection's threshold; every cell of the collection's submissions is
    flagged again against it (the same transaction)."""
    if not permissions.is_liaison(user):
        raise ActionRefused("Only Liaison can change a collection's credibility threshold.", code="forbidden")
    try:
        percent = Decimal(str(percent))
        min_records = int(min_records)
    except (ArithmeticError, TypeError, ValueError):
        raise ActionRefused(
            "Give the percentage as a number and the records as a whole number.", code="invalid"
        ) from None
    # NaN and infinities first: comparing a NaN raises. The records are bounded like a tolerance's
    # count: a larger number would overflow the column (a 500) and means nothing for a collection.
    if (
        not percent.is_finite()
        or not (Decimal(0) <= percent <= Decimal(1000))
        or percent != percent.quantize(Decimal("0.01"))
        or not (0 <= min_records <= MAX_MIN_RECORDS)
    ):
        raise ActionRefused(
            f"The percentage must be between 0 and 1000 (two decimal places at most), the records between 0 and "
            f"{MAX_MIN_RECORDS:,}.",
            code="invalid",
        )
    with transaction.atomic():
        old = threshold_for(collection_id=collection.pk)
        row, _ = CredibilityThreshold.objects.update_or_create(
            collection=collection,
            defaults={"percent": percent, "min_records": min_records, "updated_by": user, "updated_at": timezone.now()},
        )
        new = Threshold(percent=percent, min_records=min_records)
        changed = []
        for cell in CredibilityCell.objects.filter(submission__collection=collection).only(
            "pk", "count", "previous_count", "flagged"
        ):
            flagged = is_flagged(cell.count, cell.previous_count, new)
            if flagged != cell.flagged:
                cell.flagged = flagged
                changed.append(cell)
        CredibilityCell.objects.bulk_update(changed, ["flagged"], batch_size=1000)
        audit_record(
            actor=user,
            action="credibility.threshold_set",
            summary=f"Credibility threshold of {collection.reference} set to more than {percent}% and at least "
            f"{min_records:,} records (was {old.percent}% and {old.min_records:,}); "
            f"{len(changed):,} cells changed flag.",
            collection=collection,
            details={
                "percent": str(percent),
                "min_records": min_records,
                "was_percent": str(old.percent),
                "was_min_records": old.min_records,
            },
        )
    return row


def explanation_save(*, submission: Submission, table: str, category: str, text: str, user) -> CredibilityExplanation:
    """The provider explains one flagged cell of its submission (replacing its earlier text, which
    may also be changed once the cell is no longer flagged); audited."""
    if not permissions.is_staff_of(user, submission.provider):
        raise ActionRefused("Only the provider's own staff can explain its figures.", code="forbidden")
    text = (text or "").strip()
    if not text:
        raise ActionRefused("Write the explanation first.", code="empty")
    if len(text) > 5000:
        raise ActionRefused("Keep the explanation to 5,000 characters.", code="too_long")
    cell = CredibilityCell.objects.filter(submission=submission, table=table, category=category).first()
    if cell is None:
        raise ActionRefused("This submission has no such figure.", code="no_cell")
    # Only a flagged figure asks for one; an explanation kept from when it was flagged may still be changed.
    exists = CredibilityExplanation.objects.filter(submission=submission, table=table, category=category).exists()
    if not cell.flagged and not exists:
        raise ActionRefused(
            "This figure is not flagged, so it needs no explanation: explain the figures marked Flagged.",
            code="not_flagged",
        )
    with transaction.atomic():
        row, created = CredibilityExplanation.objects.update_or_create(
            submission=submission,
            table=table,
            category=category,
            defaults={"text": text, "explained_by": user, "explained_at": timezone.now()},
        )
        audit_record(
            actor=user,
            action="credibility.explained",
            summary=f"Explained {tables.TABLES_BY_KEY[table].title.lower()}, "
            f"{tables.category_label(table, category)}, of submission {submission.pk}"
            f"{'' if created else ' (replacing the earlier explanation)'}.",
            submission=submission,
            details={"table": table, "category": category, "text": text},
        )
    return row
