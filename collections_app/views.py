"""Collection and submission screens. Thin: reads come from selectors, writes from services."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.models import Provider
from core.errors import ActionRefused
from core.pagination import KeysetPaginator

from . import kinds, selectors, services, upload_notices
from .exports import failures_csv, schema_errors_csv, submission_filename
from .models import Severity
from .rules import get_rule
from .uploads import the_uploaded_file


def provider_for(request) -> Provider | None:
    """Provider staff act for their own provider; liaison picks one with ?provider=UKPRN."""
    if permissions.is_provider_staff(request.user):
        return request.user.provider
    ukprn = request.GET.get("provider") or request.POST.get("provider")
    if not ukprn:
        return None
    provider = permissions.visible_providers(request.user).filter(ukprn=ukprn).first()
    if provider is None:
        raise Http404("No such provider.")
    return provider


@login_required
@require_GET
def collection_detail(request, reference):
    collection = selectors.collection_get(reference=reference)
    if collection is None:
        raise Http404("No such collection.")
    provider = provider_for(request)
    history = selectors.submission_history(provider=provider, collection=collection) if provider else []
    # Liaison review a provider's uploads here but never supply one (see permissions.can_upload_for).
    may_upload = provider is not None and permissions.can_upload_for(request.user, provider)
    can_upload = may_upload and collection.is_open() and kinds.is_registered(collection.kind)
    return render(
        request,
        "collections/collection_detail.html",
        {
            "collection": collection,
            "provider": provider,
            "providers": permissions.visible_providers(request.user) if permissions.is_liaison(request.user) else [],
            "history": history,
            "may_upload": may_upload,
            # Said up front: a kind with no parser registered would only be refused after choosing a file.
            "kind_supported": kinds.is_registered(collection.kind),
            "can_upload": can_upload,
            # Said before the file is chosen (review: uploading over a signed-off collection reopens it).
            "upload_notices": upload_notices.notices_for(provider=provider, collection=collection)
            if can_upload
            else [],
            "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
        },
    )


@login_required
@require_POST
def collection_upload(request, reference):
    """The upload form posts here; the page's script posts the same form with XHR for a progress bar."""
    collection = selectors.collection_get(reference=reference)
    if collection is None:
        raise Http404("No such collection.")
    provider = provider_for(request)
    wants_json = request.headers.get("X-Requested-With") == "XMLHttpRequest"
    back = reverse("collection_detail", args=[reference]) + (
        f"?provider={provider.ukprn}" if provider and permissions.is_liaison(request.user) else ""
    )
    try:
        uploaded = the_uploaded_file(request)  # first: it says if the body was stopped at the size limit
        if provider is None:  # not provider staff: liaison do not upload (the service says why)
            raise ActionRefused(services.upload_refusal_message(request.user), code="forbidden")
        if uploaded is None:
            raise ActionRefused("Choose a file to upload.", code="no_file")
        submission = services.submission_create(
            collection=collection, provider=provider, user=request.user, uploaded_file=uploaded
        )
    except ActionRefused as refused:
        if wants_json:
            return JsonResponse({"code": refused.code, "detail": refused.message}, status=refused.http_status)
        messages.error(request, refused.message)
        return redirect(back)
    url = reverse("submission_detail", args=[submission.pk])
    if wants_json:
        return JsonResponse({"id": submission.pk, "url": url}, status=202)
    return redirect(url)


@login_required
@require_GET
def submission_status(request, pk):
    """What the progress bar polls."""
    submission = selectors.submission_get_or_404(user=request.user, pk=pk)
    return JsonResponse(
        {
            "id": submission.pk,
            "status": submission.status,
            "status_label": submission.get_status_display(),
            "stage": submission.stage,
            "stage_label": submission.get_stage_display(),
            "progress": submission.progress,
            "message": submission.stage_message,
            "in_flight": submission.is_in_flight,
        }
    )


def _queue_again(request, pk, action, done: str):
    """Queue one of the user's submissions again through a service (retry, re-load, re-run): a
    sentence for what happens next, or the refusal's, and back to the submission."""
    submission = selectors.submission_get_or_404(user=request.user, pk=pk)
    try:
        action(submission=submission, user=request.user)
        messages.success(request, done)
    except ActionRefused as refused:
        messages.error(request, refused.message)
    return redirect("submission_detail", pk=pk)


@login_required
@require_POST
def submission_retry_view(request, pk):
    return _queue_again(request, pk, services.submission_retry, "The submission has been queued to run again.")


@login_required
@require_POST
def submission_reload_view(request, pk):
    """Load an archived submission's records again from its kept file (retention removed them)."""
    return _queue_again(
        request, pk, services.submission_reload, "The submission's records are being loaded again from its file."
    )


@login_required
@require_POST
def submission_recheck_view(request, pk):
    """Check the same stored file again (e.g. after recording reasons), as a new submission."""
    submission = selectors.submission_get_or_404(user=request.user, pk=pk)
    try:
        again = services.submission_recheck(submission=submission, user=request.user)
    except ActionRefused as refused:
        messages.error(request, refused.message)
        return redirect("submission_detail", pk=pk)
    messages.success(
        request,
        f"The file of submission {submission.pk} is being checked again as submission {again.pk}, with the reasons "
        "and confirmations recorded since. Once it passes it must be approved.",
    )
    return redirect("submission_detail", pk=again.pk)


@login_required
@require_POST
def submission_rerun_view(request, pk):
    """Re-run the checks of the stored records in place (no new upload): progress as for an upload."""
    return _queue_again(request, pk, services.submission_rerun, "The checks are being run again on the stored records.")


def _failure_filters(request) -> dict:
    severity = request.GET.get("severity") or None
    return {
        "code": request.GET.get("rule") or None,
        "severity": severity if severity in Severity.values else None,
        "search": request.GET.get("q") or None,
        "sort": request.GET.get("sort") or None,
    }


@login_required
@require_GET
def submission_failures(request, pk):
    submission = selectors.submission_get_or_404(user=request.user, pk=pk)
    filters = _failure_filters(request)
    summaries = selectors.rule_summaries(submission=submission)
    at = (request.GET.get("at") or "").strip()
    if at:
        filters["sort"] = "husid"  # a jump to a HUSID shows the list in HUSID order from there
    failures = selectors.failures_for(submission=submission, **filters)
    total = selectors.failures_total(submission=submission, summaries=summaries, failures=failures, **filters)
    paginator = KeysetPaginator(failures, 50, count=total)
    if at:
        page = paginator.page_of_position(failures.filter(husid__lt=at).count())
    else:
        page = paginator.get_page(
            request.GET.get("page"), after=request.GET.get("after"), before=request.GET.get("before")
        )
    query = request.GET.copy()
    for name in ("page", "after", "before", "at", "sort"):  # the column headers add their own sort
        query.pop(name, None)
    return render(
        request,
        "collections/submission_failures.html",
        {
            "submission": submission,
            "collection": submission.collection,
            "rule": get_rule(filters["code"]) if filters["code"] else None,
            "filters": filters,
            "page": page,
            "failures": selectors.failures_named(submission=submission, failures=page.object_list),
            "query": query.urlencode(),
            # Page links keep the order; the column headers set their own.
            "page_query": query.urlencode() + (f"&sort={filters['sort']}" if filters["sort"] else ""),
            "summaries": summaries,
            "at": at,
        },
    )


@login_required
@require_GET
def submission_failures_csv(request, pk):
    submission = selectors.submission_get_or_404(user=request.user, pk=pk)
    filters = _failure_filters(request)
    what = f"failures-{filters['code']}" if filters["code"] else "failures"
    return failures_csv(submission=submission, filters=filters, filename=submission_filename(submission, what))


@login_required
@require_GET
def submission_schema_errors_csv(request, pk):
    submission = selectors.submission_get_or_404(user=request.user, pk=pk)
    return schema_errors_csv(
        selectors.schema_errors_for(submission=submission), submission_filename(submission, "schema-errors")
    )
