"""Browser screens for the HIN reports A-D and the HIN Target List of a submission."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts import permissions
from collections_app import selectors as collection_selectors
from collections_app import services as collection_services
from collections_app.exports import submission_filename
from collections_app.models import CURRENT_STATUSES
from core.errors import ActionRefused
from core.ids import id_from
from core.navigation import redirect_back
from core.pagination import keyset_page

from . import exports, selectors, services

PAGE_SIZE = 25


def _report_filters(request, *, default_report: str) -> dict:
    report = (request.GET.get("report") or "").upper()
    if report not in selectors.REPORT_LETTERS:
        report = default_report
    status = request.GET.get("status") or ""
    return {
        "report": report,
        "check": request.GET.get("check") or "",
        "status": status if status in ("open", "confirmed") else "",
        "husid": (request.GET.get("husid") or "").strip(),
        "field": (request.GET.get("field") or "").strip(),
        "value": (request.GET.get("value") or "").strip(),
    }


def _confirmed(status: str) -> bool | None:
    """The Status filter as the selectors' `confirmed`: None for any."""
    return {"open": False, "confirmed": True}.get(status)


def _findings(submission, filters):
    return selectors.hin_findings(
        submission=submission,
        report=filters["report"],
        check=filters["check"] or None,
        confirmed=_confirmed(filters["status"]),
        husid=filters["husid"],
        field=filters["field"],
        value=filters["value"],
    )


@login_required
@require_http_methods(["GET", "POST"])
def hin_report(request, pk):
    submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
    if request.method == "POST":
        if request.POST.get("matching"):
            return _confirm_matching(request, submission)
        return _confirm(request, submission)
    summaries = collection_selectors.rule_summaries(submission=submission)  # read once for both counts
    warning_counts = collection_selectors.warning_counts(submission=submission, summaries=summaries)
    counts = selectors.hin_report_counts(submission=submission, warning_counts=warning_counts, summaries=summaries)
    # Open on the first report with something to do.
    filters = _report_filters(request, default_report=next((c.report.letter for c in counts if c.failures), "A"))
    current = next(c for c in counts if c.report.letter == filters["report"])
    total = selectors.hin_findings_total(
        current=current,
        check=filters["check"] or None,
        confirmed=_confirmed(filters["status"]),
        filtered=bool(filters["husid"] or filters["field"] or filters["value"]),
    )
    page = keyset_page(_findings(submission, filters), request, PAGE_SIZE, count=total)
    findings = selectors.hin_findings_resolve(submission=submission, failures=page.object_list)
    query = request.GET.copy()
    for name in ("page", "after", "before"):
        query.pop(name, None)
    own_staff = permissions.is_staff_of(request.user, submission.provider)
    # Only the current upload's warnings can be confirmed (a superseded one is a record).
    can_confirm = (
        own_staff and current.report.letter in selectors.CONFIRMABLE_REPORTS and submission.status in CURRENT_STATUSES
    )
    return render(
        request,
        "hin/report.html",
        {
            "submission": submission,
            "collection": submission.collection,
            "previous": selectors.previous_year_submission(submission=submission),
            # Linking stores a result for every check, however few failures.
            "linking_ran": any(c.ran for c in counts),
            "link_counts": selectors.link_counts(submission=submission),
            "counts": counts,
            "current": current,
            "filters": filters,
            "page": page,
            "findings": findings,
            "query": query.urlencode(),
            "can_confirm": can_confirm,
            "to_confirm": can_confirm and any(f.confirmable and not f.confirmation for f in findings),
            # "Confirm all matching": the filter's unconfirmed warnings, on every page.
            "matching_open": selectors.hin_open_warnings(
                submission=submission,
                warning_counts=warning_counts,
                report=filters["report"],
                check=filters["check"] or None,
                confirmed=_confirmed(filters["status"]),
                husid=filters["husid"],
                field=filters["field"],
                value=filters["value"],
            )
            if can_confirm
            else 0,
            "fields": selectors.finding_fields(submission=submission, report=filters["report"]),
        },
    )


def _confirm(request, submission):
    ticked = request.POST.getlist("failure")
    report_url = reverse("hin_report", args=[submission.pk])
    if not ticked:
        messages.error(request, "Tick the warnings you want to confirm, then give the reason.")
        return redirect_back(request, report_url)
    # Anything that is not an id is no warning of this submission: 0 lets the service refuse it so.
    ids = [id_from(value) or 0 for value in ticked]
    try:
        confirmed = collection_services.warning_confirm(
            submission=submission, failure_ids=ids, reason=request.POST.get("reason", ""), user=request.user
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
    except PermissionDenied as denied:
        messages.error(request, str(denied))
    else:
        before = len(set(ids)) - confirmed
        if not confirmed:
            messages.info(
                request,
                f"{'Those warnings were' if before != 1 else 'That warning was'} already confirmed: nothing changed. "
                "A confirmation keeps the reason it was first given.",
            )
        else:
            messages.success(
                request,
                f"Confirmed {confirmed} warning{'s' if confirmed != 1 else ''} as data quality improvement"
                f"{'s' if confirmed != 1 else ''}. Later uploads that report the same change for the same record "
                "stay confirmed."
                + (
                    f" {before} already confirmed keep{'s' if before == 1 else ''} the reason first given."
                    if before
                    else ""
                ),
            )
    return redirect_back(request, report_url)


def _confirm_matching(request, submission):
    names = ("report", "check", "status", "husid", "field", "value")
    filters = {name: (request.POST.get(name) or "").strip() for name in names}
    try:
        confirmed = services.hin_findings_confirm_matching(
            submission=submission,
            report=filters["report"].upper(),
            check=filters["check"] or None,
            confirmed=_confirmed(filters["status"]),
            husid=filters["husid"],
            field=filters["field"],
            value=filters["value"],
            reason=request.POST.get("reason", ""),
            user=request.user,
        )
    except ActionRefused as refused:
        messages.error(request, refused.message)
    except PermissionDenied as denied:
        messages.error(request, str(denied))
    else:
        messages.success(
            request,
            f"Confirmed all {confirmed:,} matching warning{'s' if confirmed != 1 else ''} as data quality "
            f"improvement{'s' if confirmed != 1 else ''}, with one reason. They stay confirmed in later uploads.",
        )
    return redirect_back(request, reverse("hin_report", args=[submission.pk]))


@login_required
@require_GET
def hin_report_csv(request, pk):
    submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
    filters = _report_filters(request, default_report="")  # no tab chosen: every report
    what = f"hin-report-{filters['report']}" if filters["report"] else "hin-report"
    return exports.hin_report_csv(
        submission=submission, failures=_findings(submission, filters), filename=submission_filename(submission, what)
    )


@login_required
@require_GET
def hin_target_list(request, pk):
    submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
    search = (request.GET.get("q") or "").strip()
    queryset = selectors.hin_target_list(submission=submission, search=search)
    total = selectors.hin_target_count(submission=submission)
    count = selectors.hin_target_count(submission=submission, search=search) if search else total
    base = selectors.hin_target_records(submission=submission, search=search)
    page = keyset_page(queryset, request, 50, count=count, base=base)
    query = request.GET.copy()
    for name in ("page", "after", "before"):
        query.pop(name, None)
    return render(
        request,
        "hin/target_list.html",
        {
            "submission": submission,
            "collection": submission.collection,
            "page": page,
            "search": search,
            "query": query.urlencode(),
            "total": total,
        },
    )


@login_required
@require_GET
def hin_target_list_csv(request, pk):
    submission = collection_selectors.submission_get_or_404(user=request.user, pk=pk)
    return exports.hin_target_list_csv(
        submission=submission, filename=submission_filename(submission, "hin-target-list")
    )
