"""Reads of the credibility app: thresholds and flags, a submission's tables as the page and the
API show them, a cell's records, flag counts for the submission page and the liaison grid, and
the errors and warnings of every upload of a collection (the trend chart)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, QuerySet

from collections_app.models import Collection, Submission, SubmissionStatus, approved_data
from hin.selectors import previous_year_submission
from student_record.models import Instance

from . import tables
from .models import DEFAULT_MIN_RECORDS, DEFAULT_PERCENT, CredibilityCell, CredibilityExplanation, CredibilityThreshold


@dataclass(frozen=True)
class Threshold:
    percent: Decimal = DEFAULT_PERCENT
    min_records: int = DEFAULT_MIN_RECORDS
    updated_by: str = ""
    updated_at: object = None

    @property
    def is_default(self) -> bool:
        return self.updated_at is None


def threshold_for(*, collection_id: int) -> Threshold:
    row = CredibilityThreshold.objects.filter(collection=collection_id).select_related("updated_by").first()
    if row is None:
        return Threshold()
    return Threshold(row.percent, row.min_records, str(row.updated_by), row.updated_at)


def is_flagged(count: int, previous: int | None, threshold: Threshold) -> bool:
    """Moved against last year by more than the percentage (strictly: exactly 10% is not flagged)
    and by at least the number of records. A category last year had none of moves by more than
    any percentage. No previous year: nothing to compare, never flagged."""
    if previous is None:
        return False
    change = abs(count - previous)
    if change < threshold.min_records:
        return False
    # Exact: change / previous > percent / 100, without rounding.
    return change * 100 > threshold.percent * previous


def change_percent(count: int, base: int | None) -> Decimal | None:
    if not base:
        return None
    return (Decimal(count - base) * 100 / base).quantize(Decimal("0.1"))


@dataclass
class Cell:
    table: str
    category: str
    label: str
    count: int
    previous_count: int | None
    approved_count: int | None
    flagged: bool
    explanation: CredibilityExplanation | None = None

    @property
    def change(self) -> int | None:
        return None if self.previous_count is None else self.count - self.previous_count

    @property
    def change_percent(self) -> Decimal | None:
        return change_percent(self.count, self.previous_count)

    @property
    def approved_change(self) -> int | None:
        return None if self.approved_count is None else self.count - self.approved_count

    @property
    def approved_change_percent(self) -> Decimal | None:
        return change_percent(self.count, self.approved_count)


@dataclass
class TableView:
    key: str
    title: str
    cells: list[Cell] = field(default_factory=list)

    @property
    def flagged(self) -> int:
        return sum(cell.flagged for cell in self.cells)

    @property
    def total(self) -> int:
        return sum(cell.count for cell in self.cells)


@dataclass
class Report:
    submission: Submission
    previous: Submission | None
    approved: Submission | None
    threshold: Threshold
    tables: list[TableView]
    computed: bool

    @property
    def flagged(self) -> int:
        return sum(table.flagged for table in self.tables)

    @property
    def explained(self) -> int:
        return sum(1 for table in self.tables for cell in table.cells if cell.flagged and cell.explanation)


def approved_this_year(*, submission: Submission) -> Submission | None:
    """The provider's currently approved submission of the same collection."""
    return (
        Submission.objects.filter(approved_data(), provider=submission.provider_id, collection=submission.collection_id)
        .order_by("-pk")
        .first()
    )


def credibility_report(*, submission: Submission) -> Report:
    cells = list(CredibilityCell.objects.filter(submission=submission))
    explanations = {
        (e.table, e.category): e
        for e in CredibilityExplanation.objects.filter(submission=submission).select_related("explained_by")
    }
    by_table: dict[str, list[CredibilityCell]] = {}
    for cell in cells:
        by_table.setdefault(cell.table, []).append(cell)
    views = []
    for table in tables.TABLES:
        order = {code: k for k, (code, _) in enumerate(table.fixed)}
        rows = sorted(by_table.get(table.key, []), key=lambda c: (order.get(c.category, len(order)), c.category))
        views.append(
            TableView(
                table.key,
                table.title,
                [
                    Cell(
                        c.table,
                        c.category,
                        tables.category_label(c.table, c.category),
                        c.count,
                        c.previous_count,
                        c.approved_count,
                        c.flagged,
                        explanations.get((c.table, c.category)),
                    )
                    for c in rows
                ],
            )
        )
    # The comparison submissions as they were when the cells were computed may since have changed;
    # the page names the ones current now.
    return Report(
        submission=submission,
        previous=previous_year_submission(submission=submission),
        approved=approved_this_year(submission=submission),
        threshold=threshold_for(collection_id=submission.collection_id),
        tables=views,
        computed=bool(cells),
    )


@dataclass
class Summary:
    computed: bool
    compared: bool  # against an approved previous-year submission
    flagged: list[Cell]

    @property
    def explained(self) -> int:
        return sum(1 for cell in self.flagged if cell.explanation)


def credibility_summary(*, submission: Submission) -> Summary:
    """The submission page's few lines: its flagged cells and their explanations (two queries)."""
    cells = list(CredibilityCell.objects.filter(submission=submission).only("table", "category", "count",
                                                                           "previous_count", "flagged"))  # fmt: skip
    flagged = [c for c in cells if c.flagged]
    explanations = {}
    if flagged:
        explanations = {(e.table, e.category): e for e in CredibilityExplanation.objects.filter(submission=submission)}
    order = {t.key: k for k, t in enumerate(tables.TABLES)}
    return Summary(
        computed=bool(cells),
        compared=any(c.previous_count is not None for c in cells),
        flagged=[
            Cell(c.table, c.category, _full_label(c.table, c.category), c.count, c.previous_count, None, True,
                 explanations.get((c.table, c.category)))
            for c in sorted(flagged, key=lambda c: (order[c.table], c.pk))
        ],
    )  # fmt: skip


def _full_label(table: str, category: str) -> str:
    return f"{tables.TABLES_BY_KEY[table].title}: {tables.category_label(table, category)}"


def find_cell(*, submission: Submission, table: str, category: str) -> Cell | None:
    if table not in tables.TABLES_BY_KEY:
        return None
    report = credibility_report(submission=submission)
    view = next(v for v in report.tables if v.key == table)
    return next((cell for cell in view.cells if cell.category == category), None)


def cell_records(*, submission: Submission, table: str, category: str) -> QuerySet[Instance]:
    """The records behind one cell of the submission, in file order."""
    period = (submission.collection.reporting_period_start, submission.collection.reporting_period_end)
    return (
        Instance.objects.filter(submission=submission)
        .filter(tables.cell_filter(table, category, period=period))
        .annotate(
            fnames=F("student__fnames"),
            surname=F("student__surname"),
            gender=F("student__gender"),
            ethnic=F("student__ethnic"),
        )
        .order_by("line", "id")
    )


RECORD_COLUMNS = (
    ("line", "Line"),
    ("husid", "HUSID"),
    ("numhus", "NUMHUS"),
    ("fnames", "FNAMES"),
    ("surname", "SURNAME"),
    ("qualaim", "QUALAIM"),
    ("comdate", "COMDATE"),
    ("mode", "MODE"),
    ("rsnleave", "RSNLEAVE"),
    ("domicile", "DOMICILE"),
    ("gender", "GENDER"),
    ("ethnic", "ETHNIC"),
)


def flag_count(*, submission_id: int) -> int:
    return CredibilityCell.objects.filter(submission=submission_id, flagged=True).count()


def flag_counts(*, submission_ids) -> dict[int, int]:
    """Flagged cells per submission, one query (the liaison grid)."""
    return dict(
        CredibilityCell.objects.filter(submission__in=list(submission_ids), flagged=True)
        .values_list("submission")
        .annotate(n=Count("id"))
        .values_list("submission", "n")
    )


def upload_trend(*, submission: Submission) -> list[Submission]:
    """Every upload of the provider for the collection checked to the end, oldest first."""
    return list(
        Submission.objects.filter(provider=submission.provider_id, collection=submission.collection_id)
        .exclude(status__in=(SubmissionStatus.QUEUED, SubmissionStatus.PROCESSING, SubmissionStatus.ERROR))
        .exclude(status=SubmissionStatus.REJECTED)
        .order_by("uploaded_at", "pk")
        .only("pk", "uploaded_at", "error_count", "warning_count", "status")
    )


def collection_of(reference: str) -> Collection | None:
    return Collection.objects.filter(reference=reference).first()
