"""Retention (issue 14): keep the record and failure tables from growing by a full copy of every
upload. A superseded submission's rows (its records, rule failures and year-on-year links) are
removed RETENTION_SUPERSEDED_DAYS after it was superseded (and after it was last processed: a
re-loaded one keeps its rows that long again); its file, counts, per-rule summary (RuleResult),
schema errors and audit stay, and a re-load brings the rows back
(collections_app.services.submission_reload).

Never removed: a submission that was ever approved (so every signed-off one, and the previous
year's data a current upload links to, which is the provider's approved submission), and any
submission that is not superseded (a provider's current data, or one still in flight).

Rows go in batches by submission, each batch its own short transaction using the
(submission, ...) indexes, so uploads writing the same tables are never held up; on
PostgreSQL the space is reused by later uploads (autovacuum), so the tables stay about
as large as the data kept plus one night's worth of superseded uploads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from collections_app import kinds
from collections_app.exports import settled_csvs_discard
from collections_app.models import RuleFailure, Submission, SubmissionStatus
from core.audit import audit_record
from hin.models import HinLink
from review.models import Approval


@dataclass
class Removal:
    submission: Submission
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def record_tables() -> list[str]:
    """Every table holding rows of one submission that retention removes: links and failures
    first, then each kind's tables, dependants (instances, details) before their parents."""
    tables = [HinLink._meta.db_table, RuleFailure._meta.db_table]
    for kind in kinds.registered():
        tables.extend(reversed(list(kind.tables)))
    return list(dict.fromkeys(tables))


def retention_candidates(*, now: datetime | None = None, days: int | None = None) -> QuerySet[Submission]:
    """Submissions superseded more than `days` ago, and (re-)loaded more than `days` ago, whose
    rows are still stored."""
    now = now or timezone.now()
    days = settings.RETENTION_SUPERSEDED_DAYS if days is None else days
    cutoff = now - timedelta(days=days)
    return (
        Submission.objects.filter(
            status=SubmissionStatus.SUPERSEDED,
            records_archived_at__isnull=True,
            finished_at__lt=cutoff,
        )
        # Not yet known when (superseded before the time was kept, and not backfilled): its finish.
        .filter(Q(superseded_at__lt=cutoff) | Q(superseded_at__isnull=True))
        .exclude(pk__in=Approval.objects.values("submission_id"))
        .select_related("provider", "collection")
        .order_by("pk")
    )


def submission_row_counts(submission_id: int) -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in record_tables():
            cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE submission_id = %s", [submission_id])
            counts[table] = cursor.fetchone()[0]
    return counts


def submission_rows_remove(*, submission_id: int, batch: int | None = None) -> dict[str, int]:
    """Delete one submission's rows from every record table, `batch` rows per transaction."""
    batch = batch or settings.RETENTION_BATCH
    removed = {}
    for table in record_tables():
        total = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE submission_id = %s LIMIT %s)",
                    [submission_id, batch],
                )
                deleted = max(cursor.rowcount, 0)
            total += deleted
            if deleted < batch:
                break
        removed[table] = total
    return removed


def retention_run(*, dry_run: bool = False, now: datetime | None = None, days: int | None = None) -> list[Removal]:
    """Remove (or with dry_run, count) the rows of every submission past the retention age."""
    now = now or timezone.now()
    days = settings.RETENTION_SUPERSEDED_DAYS if days is None else days
    done = []
    for submission in retention_candidates(now=now, days=days):
        if dry_run:
            done.append(Removal(submission, submission_row_counts(submission.pk)))
            continue
        rows = submission_rows_remove(submission_id=submission.pk)
        # Kept CSVs of its rows on this host go too (other web hosts drop theirs at the next
        # download, which sees the records archived, or when they age out).
        settled_csvs_discard(submission_id=submission.pk)
        # Marked only once its rows are gone: a re-load cannot start while they are being removed,
        # and a run that stops half-way is finished by the next one.
        marked = Submission.objects.filter(
            pk=submission.pk, status=SubmissionStatus.SUPERSEDED, records_archived_at__isnull=True
        ).update(records_archived_at=timezone.now())
        if not marked:
            continue
        removal = Removal(submission, rows)
        audit_record(
            actor=None,
            action="submission.records_archived",
            summary=(
                f"Submission {submission.pk} records archived: {removal.total:,} rows removed, "
                f"superseded and processed over {days} days ago. Its file, counts and rule summary are kept."
            ),
            provider=submission.provider,
            collection=submission.collection,
            submission=submission,
            details={"rows": rows, "days": days},
        )
        done.append(removal)
    return done
