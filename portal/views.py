"""Screens composed from several apps: home redirect, provider dashboard, liaison home (thin views over
portal.dashboards), and the submission page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts import permissions
from accounts.decorators import liaison_required
from collections_app import kinds
from collections_app import selectors as submission_selectors
from collections_app import services as collection_services
from collections_app.models import CollectionKind, Severity, Stage, SubmissionStatus
from contacts import selectors as contact_selectors
from portal import dashboards
from review.views import approval_panel


def home(request):
    if permissions.is_liaison(request.user):
        return redirect("liaison_home")
    if permissions.is_provider_staff(request.user):
        return redirect("dashboard")
    # Signed in but with no usable role: sending them to sign in again would loop back here.
    permissions.require(not request.user.is_authenticated, "Your account has no portal role.")
    return redirect("login")


@login_required
def dashboard(request):
    if permissions.is_liaison(request.user):
        return redirect("liaison_home")
    permissions.require(permissions.is_provider_staff(request.user), "The dashboard is for provider staff.")
    now = timezone.now()
    data = dashboards.provider_dashboard(provider=request.user.provider, user=request.user, at=now)
    return render(request, "dashboard.html", {"dashboard": data, "provider": request.user.provider, "now": now})


@liaison_required
def liaison_home(request):
    q = request.GET.get("q", "").strip()
    sort = request.GET.get("sort", "")
    providers, provider_sort = dashboards.liaison_providers(q=q, sort=sort)
    collections, collection_sort = dashboards.liaison_collections(q=q, sort=sort)
    return render(
        request,
        "liaison/home.html",
        {
            "providers": providers,
            "collections": collections,
            "q": q,
            "active_sorts": [provider_sort, collection_sort],
            "review": dashboards.liaison_review_summary(user=request.user),
        },
    )


# What "Re-run the checks" runs after the rules, and what may have changed since, per stage a kind adds
# (kinds.add_stage): a kind without them (contact details) runs the rules only.
RERUN_STAGE_WORDS = {Stage.LINKING: "linking", Stage.CREDIBILITY: "credibility tables"}
RERUN_CHANGES = (("a tolerance", None), ("threshold", Stage.CREDIBILITY), ("last year's data", Stage.LINKING))


def _listed(items: list[str], last: str) -> str:
    return f"{', '.join(items[:-1])} {last} {items[-1]}" if len(items) > 1 else items[0]


def rerun_help(kind: str) -> str:
    """The sentence beside "Re-run the checks", naming only the stages `kind` has."""
    stages = [extra.stage for extra in kinds.stages_for(kind)]
    runs = ["the rules", *(RERUN_STAGE_WORDS.get(stage, Stage(stage).label.lower()) for stage in stages)]
    changes = [words for words, stage in RERUN_CHANGES if stage is None or stage in stages] + ["a rule"]
    return (
        f"Runs {_listed(runs, 'and')} again on the stored records, in place (after {_listed(changes, 'or')} changed)."
    )


@login_required
@require_GET
def submission_detail(request, pk):
    """One upload: progress while it runs, then the verdict, what to fix, the year-on-year summary
    (hin) and the approval panel (review). Composed here, on top of the apps it shows."""
    submission = submission_selectors.submission_get_or_404(user=request.user, pk=pk)
    summaries = submission_selectors.rule_summaries(submission=submission)
    failing = [s for s in summaries if s.failure_count]  # largest first (rule_summaries' order)
    largest = max((s.failure_count for s in failing), default=0)
    kind = submission.collection.kind
    # Read once, shown three times: the approval panel's tolerances, its blockers and the HIN summary.
    counts = (
        submission_selectors.warning_counts(submission=submission, summaries=summaries)
        if submission.is_complete
        else None
    )
    review = approval_panel(request, submission, summaries=summaries, counts=counts)
    return render(
        request,
        "collections/submission_detail.html",
        {
            "submission": submission,
            "collection": submission.collection,
            "summaries": summaries,
            "warning_counts": counts,
            # What to fix first: errors, then warnings, each by count; passed rules folded away.
            "failing_errors": [s for s in failing if s.severity == Severity.ERROR],
            "failing_warnings": [s for s in failing if s.severity != Severity.ERROR],
            "passed_rules": [s for s in summaries if not s.failure_count],
            "record_noun": getattr(kinds.find(kind), "record_noun", "records"),
            "merged_details": contact_selectors.merged_details(submission=submission)
            if kind == CollectionKind.CONTACT_DETAILS and submission.is_complete
            else 0,
            "chart": [(s, round(100 * s.failure_count / largest) if largest else 0) for s in failing],
            "schema_errors": submission_selectors.schema_errors_for(submission=submission)[:200],
            "records_drop": submission_selectors.records_drop_warning(submission=submission),
            "can_retry": collection_services.submission_is_retryable(submission=submission)
            and permissions.can_retry_for(request.user, submission.provider),
            "can_rerun": collection_services.submission_is_rerunnable(
                submission=submission, user=request.user, current_id=review["current_submission_id"]
            ),
            "rerun_help": rerun_help(kind),
            "can_reload": bool(submission.records_archived_at and submission.file)
            and submission.status == SubmissionStatus.SUPERSEDED
            and permissions.can_retry_for(request.user, submission.provider),
            "can_recheck": collection_services.submission_is_recheckable(
                submission=submission, user=request.user, latest_status=review["review_state"].latest_status
            ),
            **review,
        },
    )
