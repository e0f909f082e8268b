"""The coverage page of a contact details submission and its "nothing usable" CSV. Thin views over
contacts.coverage; the bar chart is inline SVG drawn here (no script)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from collections_app import selectors as collection_selectors
from collections_app.exports import submission_filename
from core.csv import csv_response

from . import coverage

NOTHING_USABLE_HEADER = ["LINE", "HUSID", "NUMHUS", "FNAMES", "SURNAME", "GRADSTATUS", "HOMEEUOS"]

# Chart geometry (SVG user units): a group of two bars per measure, 0-100 % up the side.
CHART_WIDTH, CHART_HEIGHT, PLOT_TOP, PLOT_LEFT, PLOT_HEIGHT = 640, 280, 20, 48, 200
GROUP_WIDTH, BAR_WIDTH = 140, 44


@dataclass
class Bar:
    x: int
    y: float
    height: float
    percent: object
    series: str


def contact_submission_or_404(user, pk):
    submission = collection_selectors.submission_get_or_404(user=user, pk=pk)
    if not coverage.is_contact_submission(submission):
        raise Http404("Coverage figures are for contact details submissions.")
    return submission


def chart(rows: list[dict]) -> dict:
    """Bars and labels for the grouped bar chart: this cohort and the previous one, per measure."""
    groups = []
    for i, row in enumerate(rows):
        left = PLOT_LEFT + 10 + i * GROUP_WIDTH
        bars = []
        for j, (series, percent) in enumerate((("current", row["percent"]), ("previous", row["previous_percent"]))):
            if percent is None:
                continue
            height = round(float(percent) * PLOT_HEIGHT / 100, 1)
            bars.append(Bar(left + j * (BAR_WIDTH + 6), PLOT_TOP + PLOT_HEIGHT - height, height, percent, series))
        groups.append({"label": row["label"], "x": left + BAR_WIDTH + 3, "bars": bars})  # under the pair
    ticks = [
        {"value": value, "y": PLOT_TOP + PLOT_HEIGHT - value * PLOT_HEIGHT // 100} for value in (0, 25, 50, 75, 100)
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": PLOT_LEFT,
        "right": CHART_WIDTH - 10,
        "baseline": PLOT_TOP + PLOT_HEIGHT,
        "label_y": PLOT_TOP + PLOT_HEIGHT + 20,
        "groups": groups,
        "ticks": ticks,
    }


@login_required
@require_GET
def submission_coverage(request, pk):
    submission = contact_submission_or_404(request.user, pk)
    result = coverage.coverage_for(submission=submission)
    rows = coverage.measure_rows(result)
    page = Paginator(coverage.nothing_usable(submission=submission), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "contacts/coverage.html",
        {
            "submission": submission,
            "collection": submission.collection,
            "coverage": result,
            "rows": rows,
            "by_homeeuos": coverage.homeeuos_rows(result),
            "chart": chart(rows),
            "page": page,
            "query": "",
            "measures": coverage.MEASURES,
        },
    )


@login_required
@require_GET
def nothing_usable_csv(request, pk):
    submission = contact_submission_or_404(request.user, pk)
    rows = (
        (g.line, g.husid, g.numhus, g.fnames, g.surname, g.gradstatus, g.homeeuos)
        for g in coverage.nothing_usable(submission=submission)
    )
    return csv_response(submission_filename(submission, "nothing-usable"), NOTHING_USABLE_HEADER, rows)
