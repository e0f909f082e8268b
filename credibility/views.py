"""Browser screens of the credibility report of a submission: the tables with their charts, a
cell's records (paginated, CSV), the provider's explanations and liaison's threshold."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from collections_app import selectors as collection_selectors
from collections_app.exports import submission_filename
from core.csv import csv_response
from core.errors import ActionRefused

from . import charts, exports, selectors, services, tables

PAGE_SIZE = 50


def _student_record_or_404(request, pk):
    submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
    if submission.collection.kind != "student_record":
        raise Http404("Credibility reports are for Student record submissions.")
    return submission


@login_required
@require_GET
def credibility(request, pk):
    submission = _student_record_or_404(request, pk)
    report = selectors.credibility_report(submission=submission)
    last_label = f"{report.previous.collection.reference}" if report.previous else "Last year"
    for table in report.tables:
        table.chart = charts.grouped_bars(table, this_label="This submission", last_label=last_label)
    return render(
        request,
        "credibility/report.html",
        {
            "submission": submission,
            "collection": submission.collection,
            "report": report,
            "trend": charts.trend(selectors.upload_trend(submission=submission)),
            "is_liaison": permissions.is_liaison(request.user),
            "can_explain": permissions.is_staff_of(request.user, submission.provider),
        },
    )


@login_required
@require_GET
def credibility_csv(request, pk):
    submission = _student_record_or_404(request, pk)
    report = selectors.credibility_report(submission=submission)
    return csv_response(
        submission_filename(submission, "credibility"), exports.TABLE_HEADER, exports.table_rows(report)
    )


def _cell_or_404(submission, table, category):
    cell = selectors.find_cell(submission=submission, table=table, category=category)
    if cell is None:
        raise Http404("No such figure.")
    return cell


@login_required
@require_GET
def cell_records(request, pk, table, category):
    submission = _student_record_or_404(request, pk)
    cell = _cell_or_404(submission, table, category)
    records = selectors.cell_records(submission=submission, table=table, category=category)
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "credibility/cell_records.html",
        {
            "submission": submission,
            "collection": submission.collection,
            "table": tables.TABLES_BY_KEY[table],
            "cell": cell,
            "page": page,
            "query": "",
        },
    )


@login_required
@require_GET
def cell_records_csv(request, pk, table, category):
    submission = _student_record_or_404(request, pk)
    _cell_or_404(submission, table, category)
    records = selectors.cell_records(submission=submission, table=table, category=category)
    return csv_response(
        submission_filename(submission, f"credibility-{table}-{category}"),
        exports.RECORD_HEADER,
        exports.record_rows(records),
    )


@login_required
@require_POST
def explain(request, pk):
    submission = _student_record_or_404(request, pk)
    table, category = request.POST.get("table", ""), request.POST.get("category", "")
    try:
        services.explanation_save(
            submission=submission, table=table, category=category, text=request.POST.get("text", ""), user=request.user
        )
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, "Explanation saved: Liaison sees it beside the figure.")
    return redirect(reverse("credibility", args=[submission.pk]) + f"#cell-{table}-{category}")


@login_required
@require_POST
def threshold(request, reference):
    collection = selectors.collection_of(reference)
    if collection is None:
        raise Http404("No such collection.")
    try:
        services.threshold_set(
            collection=collection,
            percent=request.POST.get("percent"),
            min_records=request.POST.get("min_records"),
            user=request.user,
        )
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"Credibility threshold of {collection.reference} saved; flags recomputed.")
    back = request.POST.get("submission", "")
    if back.isdigit():
        return redirect("credibility", pk=int(back))
    return redirect("collection_detail", reference=collection.reference)
