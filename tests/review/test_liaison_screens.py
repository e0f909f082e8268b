"""Liaison-side screens and lists: safe redirects after actions, the grid CSV and late flags, fixed
query counts however many rows, the paginated override list."""

import csv
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from rest_framework.test import APIClient

from core.formatting import uk_datetime_text
from review import services
from review.models import OverrideRequest

from ..factories import CollectionFactory, ProviderFactory, UserFactory
from ..review_helpers import make_submission


@pytest.mark.parametrize(
    "target", ["/\\evil.example/", "/\\/evil.example/", "//evil.example/", "https://evil.example/"]
)
def test_next_after_a_liaison_action_is_never_another_site(client, provider, approver, liaison, collection, target):
    submission = make_submission(provider, collection)
    services.submission_approve(submission=submission, user=approver)
    client.force_login(liaison)
    response = client.post(
        reverse("collection_return", args=[provider.ukprn, collection.reference]),
        {"subject": "Please re-check", "body": "Totals look wrong.", "next": target},
    )
    assert response.status_code == 302 and response["Location"] == reverse("liaison_grid")


def test_next_after_a_liaison_action_keeps_our_own_path(client, provider, approver, liaison, collection):
    submission = make_submission(provider, collection)
    services.submission_approve(submission=submission, user=approver)
    client.force_login(liaison)
    detail = reverse("submission_detail", args=[submission.pk]) + "?tab=approval"
    response = client.post(
        reverse("collection_sign_off", args=[provider.ukprn, collection.reference]), {"next": detail}
    )
    assert response.status_code == 302 and response["Location"] == detail


@pytest.fixture
def final_updates(db):
    """In final updates: the approval deadline has passed, the collection closes in a week."""
    now = timezone.now()
    return CollectionFactory(
        reference="C23052",
        opens=now - timedelta(days=60),
        approval_deadline=now - timedelta(days=1),
        final_updates_deadline=now + timedelta(days=7),
    )


def test_grid_csv_writes_uk_dates(client, provider, approver, liaison, collection):
    approval = services.submission_approve(submission=make_submission(provider, collection), user=approver)
    sign_off = services.collection_sign_off(provider=provider, collection=collection, user=liaison)
    client.force_login(liaison)
    rows = list(csv.reader(b"".join(client.get(reverse("liaison_grid_csv")).streaming_content).decode().splitlines()))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Approved at"] == uk_datetime_text(approval.approved_at)  # "21 Jul 2024, 17:00"
    assert row["Signed off at"] == uk_datetime_text(sign_off.signed_off_at)


def test_a_late_approval_is_flagged_in_the_grid_after_sign_off_too(client, provider, approver, liaison, final_updates):
    services.submission_approve(submission=make_submission(provider, final_updates), user=approver)
    client.force_login(liaison)
    cell = f'id="cell-{provider.ukprn}-{final_updates.reference}"'
    page = client.get(reverse("liaison_grid")).content.decode()
    assert f'{cell} data-state="approved_late"' in page
    services.collection_sign_off(provider=provider, collection=final_updates, user=liaison)
    page = client.get(reverse("liaison_grid")).content.decode()
    assert f'{cell} data-state="signed_off" data-late="yes"' in page
    assert "Approved late" in page.split(cell)[1].split("</td>")[0]
    make_submission(provider, final_updates)  # a newer upload: updated since a late approval
    page = client.get(reverse("liaison_grid")).content.decode()
    assert f'{cell} data-state="updated" data-late="yes"' in page


# -- query counts: lists, grid and dashboards do not query per row ------------------------------


@pytest.fixture
def busy(provider, provider_user, approver, liaison, collection):
    """Five providers, each with a submission, a query with a response, an override and events."""
    from collections_app.models import CollectionKind, RuleFailure, RuleResult, Severity
    from collections_app.rules.registry import Tolerance, rule, unregister

    def sql(ctx):
        return "SELECT NULL, NULL, NULL, '', '', '', '', '' WHERE FALSE", {}

    sql.__doc__ = "A test warning."
    rule(code="TSTQ", title="Test rule TSTQ", severity=Severity.WARNING, applies_to="instance",
         record_kind=CollectionKind.STUDENT_RECORD, tolerance=Tolerance(percent=1))(sql)  # fmt: skip
    providers = [provider, *(ProviderFactory() for _ in range(4))]
    for p in providers:
        user = provider_user if p == provider else UserFactory(provider=p)
        submission = make_submission(p, collection)
        RuleResult.objects.create(submission=submission, code="TSTQ", severity=Severity.WARNING, failure_count=5)
        RuleFailure.objects.bulk_create(
            RuleFailure(submission=submission, code="TSTQ", severity=Severity.WARNING, husid=f"{i:013d}", numhus="1")
            for i in range(5)
        )
        query = services.query_raise(submission=submission, user=liaison, subject=f"Q {p.name}", body="Check.")
        services.query_respond(query=query, user=user, body="Done.")
        services.override_request(submission=submission, code="TSTQ", percent=5, justification="Why.", user=user)
    yield providers
    unregister("TSTQ")


@pytest.mark.parametrize(
    "name, params, most",
    [
        # session, user, the second-factor check (any authenticator app?), then the page's own
        # reads: a fixed number whatever the rows.
        ("query_list", {"status": "all"}, 7),
        ("override_list", {"status": "all"}, 6),  # and the provider picker
        ("audit_log", {}, 8),
        ("liaison_grid", {}, 11),
        ("liaison_home", {}, 15),
    ],
)
def test_liaison_lists_do_not_query_per_row(client, liaison, busy, name, params, most, django_assert_max_num_queries):
    client.force_login(liaison)
    client.get(reverse(name), params)  # warm the session
    with django_assert_max_num_queries(most):
        response = client.get(reverse(name), params)
    assert response.status_code == 200
    assert busy[-1].name in response.content.decode() or name == "liaison_home"


@pytest.mark.parametrize(
    "url, most",
    [
        ("/api/v1/queries/", 4),
        ("/api/v1/audit/", 2),
        ("/api/v1/review/grid/", 7),
    ],
)
def test_api_lists_do_not_query_per_row(liaison, busy, url, most, django_assert_max_num_queries):
    client = APIClient()
    client.force_authenticate(liaison)
    with django_assert_max_num_queries(most):
        response = client.get(url)
    assert response.status_code == 200


def test_submission_page_does_not_query_per_query_or_override(
    client, provider, provider_user, liaison, collection, busy, django_assert_max_num_queries
):
    submission = make_submission(provider, collection)
    for n in range(5):
        services.query_raise(submission=submission, user=liaison, subject=f"More {n}", body="Check.")
    client.force_login(provider_user)
    url = reverse("submission_detail", args=[submission.pk])
    client.get(url)
    # The tolerance read, once per warnings_over_tolerance; one for the second-factor check; one
    # for the credibility summary (two once a figure is flagged).
    with django_assert_max_num_queries(25):
        response = client.get(url)
    assert "More 4" in response.content.decode()


def test_override_list_is_paginated_and_sortable(client, liaison, busy):
    from review.models import OverrideRequest

    client.force_login(liaison)
    names = sorted(p.name for p in busy)
    response = client.get(reverse("override_list"), {"sort": "provider"})
    assert [o.provider.name for o in response.context["page"]] == names
    response = client.get(reverse("override_list"), {"sort": "-provider"})
    assert [o.provider.name for o in response.context["page"]] == names[::-1]
    assert 'aria-sort="descending"' in response.content.decode()
    # More than a page: the rest is on page 2, with the filter and sort kept in the links.
    request = OverrideRequest.objects.first()
    OverrideRequest.objects.bulk_create(
        OverrideRequest(
            submission_id=request.submission_id, provider_id=request.provider_id, collection_id=request.collection_id,
            code=f"X{n}", percent=5, justification="Why.", requested_by_id=request.requested_by_id, status="refused",
        )
        for n in range(60)
    )  # fmt: skip
    response = client.get(reverse("override_list"), {"status": "all", "sort": "code"})
    page = response.context["page"]
    assert len(page) == 50 and page.paginator.count == 65
    assert "?status=all&amp;sort=code&page=2" in response.content.decode()
    assert len(client.get(reverse("override_list"), {"status": "all", "page": 2}).context["page"]) == 15


def _override(provider, collection, user, code="OV.W1"):
    return OverrideRequest.objects.create(
        submission=make_submission(provider, collection), provider=provider, collection=collection, code=code,
        percent=5, justification="Known.", requested_by=user,
    )  # fmt: skip


NOTHING_WAITING = "No override requests are waiting for a decision."
NO_MATCH = "No override requests match these filters: choose another provider or status."


def test_override_list_says_when_the_filters_match_nothing(client, provider, other_provider, approver, liaison):
    collection = CollectionFactory()
    override = _override(provider, collection, approver)
    client.force_login(liaison)
    url = reverse("override_list")
    # A provider with nothing pending: the filter matches nothing, which is not "nothing is waiting".
    page = client.get(url, {"provider": other_provider.ukprn}).content.decode()
    assert NO_MATCH in page and NOTHING_WAITING not in page
    assert f'<option value="{other_provider.ukprn}" selected>' in page
    page = client.get(url, {"status": "refused"}).content.decode()
    assert NO_MATCH in page and NOTHING_WAITING not in page
    assert "OV.W1" in client.get(url, {"provider": provider.ukprn}).content.decode()
    # Once decided, nothing is waiting for anyone: that is what the unfiltered list says.
    services.override_decide(override=override, approve=True, message="", user=liaison)
    page = client.get(url).content.decode()
    assert NOTHING_WAITING in page and NO_MATCH not in page


@pytest.mark.parametrize("unknown", ["abc", "99999999", "<b>x</b>"])
def test_an_unknown_provider_in_the_override_list_is_no_filter_and_said(
    client, provider, other_provider, approver, liaison, unknown
):
    collection = CollectionFactory()
    _override(provider, collection, approver, code="OV.MINE")
    _override(other_provider, collection, approver, code="OV.THEIRS")
    client.force_login(liaison)
    response = client.get(reverse("override_list"), {"provider": unknown})
    page = response.content.decode()
    # What the picker shows ("All providers") is what is listed, and the page says why.
    assert response.context["page"].paginator.count == 2
    assert "OV.MINE" in page and "OV.THEIRS" in page and "2 requests." in page
    assert " selected>" not in page.split('id="o-provider"')[1].split("</select>")[0]
    assert f"No provider has UKPRN {escape(unknown)}, so the requests of all providers are shown" in page
    assert "<b>x</b>" not in page
    # A known provider is a filter, with no such notice.
    page = client.get(reverse("override_list"), {"provider": provider.ukprn}).content.decode()
    assert "OV.MINE" in page and "OV.THEIRS" not in page and 'id="unknown-provider"' not in page


def test_a_status_the_picker_does_not_offer_is_the_default_status(client, provider, approver, liaison):
    """`?status=junk` listed every status while the picker showed its first choice."""
    collection = CollectionFactory()
    pending = _override(provider, collection, approver, code="OV.PENDING")
    decided = _override(provider, collection, approver, code="OV.DECIDED")
    services.override_decide(override=decided, approve=True, message="", user=liaison)
    client.force_login(liaison)
    page = client.get(reverse("override_list"), {"status": "junk"}).content.decode()
    assert pending.code in page and decided.code not in page
    assert '<option value="pending" selected>' in page
    submission = make_submission(provider, collection)
    open_query = services.query_raise(submission=submission, user=liaison, subject="Still open", body="?")
    closed = services.query_raise(submission=submission, user=liaison, subject="Closed one", body="?")
    services.query_accept(query=closed, user=liaison, body="Done.")
    page = client.get(reverse("query_list"), {"status": "junk"}).content.decode()
    assert open_query.subject in page and closed.subject not in page


def test_an_unknown_provider_in_the_query_list_is_no_filter_and_said(client, provider, other_provider, liaison):
    collection = CollectionFactory()
    for who in (provider, other_provider):
        submission = make_submission(who, collection)
        services.query_raise(submission=submission, user=liaison, subject=f"Q {who.ukprn}", body="?")
    client.force_login(liaison)
    page = client.get(reverse("query_list"), {"provider": "<b>x</b>"}).content.decode()
    assert f"Q {provider.ukprn}" in page and f"Q {other_provider.ukprn}" in page
    assert "No provider has UKPRN &lt;b&gt;x&lt;/b&gt;, so the queries of all providers are shown" in page
    page = client.get(reverse("query_list"), {"provider": provider.ukprn}).content.decode()
    assert f"Q {other_provider.ukprn}" not in page and 'id="unknown-provider"' not in page


def test_a_late_approval_is_flagged_in_the_submission_history_and_on_the_dashboard(client, provider, approver):
    from datetime import timedelta

    from django.utils import timezone

    from review import services as review_services

    from ..factories import CollectionFactory
    from ..review_helpers import make_submission

    now = timezone.now()
    collection = CollectionFactory(
        opens=now - timedelta(days=30),
        approval_deadline=now - timedelta(days=1),
        final_updates_deadline=now + timedelta(days=10),
    )
    submission = make_submission(provider, collection)
    review_services.submission_approve(submission=submission, user=approver)
    client.force_login(approver)
    history = client.get(f"/collections/{collection.reference}/").content.decode()
    assert 'title="Approved after the approval deadline">Late</span>' in history
    dashboard = client.get("/", follow=True).content.decode()
    assert 'title="Approved after the approval deadline">Late</span>' in dashboard
