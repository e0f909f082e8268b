"""CSV rows of a submission's credibility tables and of one cell's records."""

from __future__ import annotations

from .selectors import RECORD_COLUMNS, Report

TABLE_HEADER = [
    "table",
    "category",
    "label",
    "this_submission",
    "previous_year",
    "change",
    "change_percent",
    "approved_this_year",
    "change_from_approved",
    "change_from_approved_percent",
    "flagged",
    "explanation",
]


def table_rows(report: Report):
    for table in report.tables:
        for cell in table.cells:
            yield [
                table.key,
                cell.category,
                cell.label,
                cell.count,
                cell.previous_count,
                cell.change,
                cell.change_percent,
                cell.approved_count,
                cell.approved_change,
                cell.approved_change_percent,
                "yes" if cell.flagged else "no",
                cell.explanation.text if cell.explanation else "",
            ]


RECORD_HEADER = [name for _, name in RECORD_COLUMNS]


def record_rows(queryset):
    fields = [field for field, _ in RECORD_COLUMNS]
    for row in queryset.values_list(*fields).iterator(chunk_size=2000):
        yield list(row)
