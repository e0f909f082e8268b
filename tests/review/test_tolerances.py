"""Warning tolerances per rule per collection (issue 12, item 6): liaison's stored tolerance beats
the rule's code default, approval follows it, shares are shown rounded but compared exactly,
zero reads as "any warning blocks", the screen and API are liaison-only for writes, and every
change is audited."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core.errors import ActionRefused
from review import selectors, services
from review.models import RuleTolerance

from ..factories import ApproverFactory, CollectionFactory
from ..review_helpers import add_warnings, make_submission, temporary_rule

ZERO = "0% – any warning blocks approval"


def refused_code(call) -> str:
    with pytest.raises(ActionRefused) as refused:
        call()
    return refused.value.code


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def tst1():
    with temporary_rule("TST1", percent=5) as registered:
        yield registered


# -- rounding and the exact comparison ---------------------------------------------------------


@pytest.mark.parametrize(
    "count, records, shown, text, needed",
    [
        (1, 300, "0.33", "0.33%", "0.34"),  # was 0.34 (rounded up): the example
        (2, 300, "0.67", "0.67%", "0.67"),  # was 0.66 (truncated): rounded to the nearest
        (2, 3, "66.67", "66.67%", "66.67"),
        (1, 100, "1.00", "1.00%", "1.00"),  # exact figures are not nudged either way
        (1, 100_000, "0.00", "under 0.01%", "0.01"),  # never "0.00%" for a real failure
        (299_999, 300_000, "99.99", "99.99%", "100.00"),  # nor 100% for fewer than all
        (300, 300, "100.00", "100.00%", "100.00"),
        (0, 300, "0.00", "0.00%", "0.00"),
    ],
)
def test_percentages_are_rounded_for_display(count, records, shown, text, needed):
    assert selectors.percent_of(count, records) == Decimal(shown)
    assert selectors.percent_text(count, records) == text
    assert selectors.percent_needed(count, records) == Decimal(needed)


def test_the_comparison_is_exact_not_on_the_rounded_figure():
    # 1/300 = 0.333...%: shown as 0.33%, yet over a 0.33% tolerance and within 0.34%.
    assert not selectors.share_within(1, 300, Decimal("0.33"))
    assert selectors.share_within(1, 300, Decimal("0.34"))
    assert selectors.share_within(3, 300, Decimal("1"))  # exactly at the limit is within
    assert not selectors.share_within(301, 30_000, Decimal("1"))  # 1.0033%: shown 1.00%, over


def test_a_share_just_over_a_stored_tolerance_blocks_though_it_displays_equal(provider, liaison, collection, tst1):
    services.tolerance_set(collection=collection, code="TST1", percent="0.33", user=liaison)
    submission = make_submission(provider, collection, instances=300)
    add_warnings(submission, "TST1", 1)
    [row] = selectors.warnings_over_tolerance(submission=submission)
    assert (row.percent, row.tolerance, row.blocks_approval) == (Decimal("0.33"), "up to 0.33% of records", True)
    [(code, message)] = selectors.approval_refusals(submission=submission)
    assert code == "warnings_over_tolerance"
    assert "(0.33% of records; tolerance up to 0.33% of records)" in message
    services.tolerance_set(collection=collection, code="TST1", percent="0.34", user=liaison)
    assert selectors.approval_refusals(submission=submission) == []


# -- the stored tolerance beats the code default -----------------------------------------------


def test_stored_tolerance_beats_the_rules_default_both_ways(provider, approver, liaison, collection, tst1):
    submission = make_submission(provider, collection, instances=100)
    add_warnings(submission, "TST1", 8)  # 8%: over the rule's 5%
    assert [c for c, _ in selectors.approval_refusals(submission=submission)] == ["warnings_over_tolerance"]

    services.tolerance_set(collection=collection, code="TST1", percent=10, user=liaison)
    [row] = selectors.warnings_over_tolerance(submission=submission)
    assert (row.tolerance, row.tolerance_source, row.blocks_approval) == ("up to 10% of records", "collection", False)

    services.tolerance_set(collection=collection, code="TST1", percent=0, user=liaison)  # stricter than 5%
    [row] = selectors.warnings_over_tolerance(submission=submission)
    assert (row.tolerance, row.blocks_approval) == (ZERO, True)
    assert RuleTolerance.objects.count() == 1  # one row per rule per collection, updated

    services.tolerance_set(collection=collection, code="TST1", count=8, user=liaison)
    assert selectors.approval_refusals(submission=submission) == []
    approval = services.submission_approve(submission=submission, user=approver)
    assert approval.submission_id == submission.pk


def test_a_count_tolerance_allows_that_many(provider, liaison, collection, tst1):
    services.tolerance_set(collection=collection, code="TST1", count=3, user=liaison)
    submission = make_submission(provider, collection, instances=10)  # 3 of 10 is 30%, far over 5%
    add_warnings(submission, "TST1", 3)
    [row] = selectors.warnings_over_tolerance(submission=submission)
    assert (row.tolerance, row.blocks_approval) == ("up to 3 records", False)
    add_warnings(submission, "TST1", 1, start=3)
    [row] = selectors.warnings_over_tolerance(submission=submission)
    assert row.blocks_approval


def test_a_tolerance_in_one_collection_does_not_apply_to_another(provider, liaison, collection, tst1):
    other = CollectionFactory(reference="C24051", reporting_year=2024)
    services.tolerance_set(collection=other, code="TST1", percent=50, user=liaison)
    submission = make_submission(provider, collection, instances=100)
    add_warnings(submission, "TST1", 8)
    [row] = selectors.warnings_over_tolerance(submission=submission)
    assert (row.tolerance_source, row.blocks_approval) == ("default", True)


def test_no_tolerance_reads_as_zero_not_none(provider, collection):
    with temporary_rule("TST2"):
        submission = make_submission(provider, collection)
        add_warnings(submission, "TST2", 1)
        [row] = selectors.warnings_over_tolerance(submission=submission)
        assert (row.tolerance, row.tolerance_source, row.blocks_approval) == (ZERO, "none", True)


def test_override_cover_is_exact(provider, provider_user, liaison, approver, collection):
    with temporary_rule("TST2"):
        submission = make_submission(provider, collection, instances=300)
        add_warnings(submission, "TST2", 1)

        def ask(percent):
            return services.override_request(
                submission=submission, code="TST2", percent=percent, justification="Right.", user=provider_user
            )

        # Asking for the displayed 0.33% would not cover 1 in 300: refused, saying what would.
        with pytest.raises(ActionRefused) as refused:
            ask("0.33")
        assert refused.value.code == "percent_too_low" and "at least 0.34%" in refused.value.message
        override = ask("0.34")
        services.override_decide(override=override, approve=True, message="", user=liaison)
        [row] = selectors.warnings_over_tolerance(submission=submission)
        assert row.covered and not row.blocks_approval


# -- setting: who, what, audit -----------------------------------------------------------------


def test_setting_is_audited_with_the_previous_value(liaison, collection, tst1):
    services.tolerance_set(collection=collection, code="TST1", percent="2.5", user=liaison)
    services.tolerance_set(collection=collection, code="TST1", count=0, user=liaison)
    events = list(AuditEvent.objects.filter(action="tolerance.set").order_by("pk"))
    assert [e.summary for e in events] == [
        "Tolerance of check TST1 in C23051 set to up to 2.5% of records (was up to 5% of records)",
        f"Tolerance of check TST1 in C23051 set to {ZERO} (was up to 2.5% of records)",
    ]
    assert events[0].actor == liaison and events[0].collection == collection
    assert events[1].details == {
        "code": "TST1",
        "percent": None,
        "count": 0,
        "previous": "up to 2.5% of records",
        "previous_source": "collection",
    }


def test_setting_refusals(provider_user, approver, liaison, collection, tst1):
    def set_(user=liaison, **kw):
        return lambda: services.tolerance_set(collection=collection, code=kw.pop("code", "TST1"), user=user, **kw)

    for user in (provider_user, approver):
        with pytest.raises(PermissionDenied):
            set_(user, percent=1)()
    assert refused_code(set_(code="NOPE", percent=1)) == "unknown_rule"
    assert refused_code(set_(percent=1, count=1)) == "percent_or_count"
    assert refused_code(set_()) == "percent_or_count"
    assert refused_code(set_(percent="1.234")) == "invalid_percent"  # refused, not silently rounded
    assert refused_code(set_(percent="101")) == "invalid_percent"
    assert refused_code(set_(percent="-1")) == "invalid_percent"
    assert refused_code(set_(percent="NaN")) == "invalid_percent"
    assert refused_code(set_(percent="lots")) == "invalid_percent"
    assert refused_code(set_(count="-1")) == "invalid_count"
    assert refused_code(set_(count="2.5")) == "invalid_count"
    assert not RuleTolerance.objects.exists() and not AuditEvent.objects.filter(action="tolerance.set").exists()


def test_neither_percent_nor_count_says_so_not_both(liaison, collection, tst1):
    for kw in ({}, {"percent": None, "count": None}, {"percent": "", "count": ""}):
        with pytest.raises(ActionRefused) as refused:
            services.tolerance_set(collection=collection, code="TST1", user=liaison, **kw)
        assert refused.value.code == "percent_or_count"
        assert refused.value.message == "Give a percentage of records or a number of records."
    with pytest.raises(ActionRefused, match="not both"):
        services.tolerance_set(collection=collection, code="TST1", user=liaison, percent=1, count=1)


def test_counts_and_percentages_no_column_could_hold_are_refused(liaison, collection, tst1):
    """A count past the column's range overflowed on saving; a huge percentage broke quantize."""

    def set_(**kw):
        return lambda: services.tolerance_set(collection=collection, code="TST1", user=liaison, **kw)

    for count in (100000000000000000000, "100000000000000000000", services.MAX_TOLERANCE_COUNT + 1, "9" * 5000):
        assert refused_code(set_(count=count)) == "invalid_count"
    for percent in ("1e100000000", "-1e100000000", "Infinity"):
        assert refused_code(set_(percent=percent)) == "invalid_percent"
    assert not RuleTolerance.objects.exists()
    services.tolerance_set(collection=collection, code="TST1", user=liaison, count=services.MAX_TOLERANCE_COUNT)
    assert RuleTolerance.objects.get(code="TST1").count == 10_000_000


def test_reset_goes_back_to_the_rules_default_and_is_audited(provider_user, liaison, collection, tst1):
    with pytest.raises(PermissionDenied):
        services.tolerance_reset(collection=collection, code="TST1", user=provider_user)
    assert refused_code(lambda: services.tolerance_reset(collection=collection, code="NOPE", user=liaison)) == (
        "unknown_rule"
    )
    assert services.tolerance_reset(collection=collection, code="TST1", user=liaison) is False  # nothing to reset
    services.tolerance_set(collection=collection, code="TST1", count=3, user=liaison)
    assert services.tolerance_reset(collection=collection, code="TST1", user=liaison) is True
    assert not RuleTolerance.objects.exists()
    [row] = [r for r in selectors.collection_tolerances(collection=collection) if r.code == "TST1"]
    assert (row.tolerance.source, str(row.tolerance)) == ("default", "up to 5% of records")
    [event] = AuditEvent.objects.filter(action="tolerance.reset")
    assert event.summary == (
        "Tolerance of check TST1 in C23051 reset to the check's default, up to 5% of records (was up to 3 records)"
    )
    assert event.actor == liaison and event.collection == collection


# -- API ---------------------------------------------------------------------------------------


def test_api_liaison_sets_provider_reads(provider, provider_user, approver, other_user, liaison, collection, tst1):
    url = f"/api/v1/collections/{collection.reference}/tolerances/"
    one = f"{url}TST1/"
    assert APIClient().get(url).status_code == 401
    listed = as_user(provider_user).get(url)
    assert listed.status_code == 200
    [row] = [r for r in listed.json() if r["code"] == "TST1"]
    assert (row["source"], row["text"], row["percent"], row["count"]) == (
        "default",
        "up to 5% of records",
        "5.00",
        None,
    )
    for user in (provider_user, approver, other_user):
        refused = as_user(user).put(one, {"percent": "1"}, format="json")
        assert refused.status_code == 403
    assert not RuleTolerance.objects.exists()

    response = as_user(liaison).put(one, {"percent": "2"}, format="json")
    assert response.status_code == 200
    assert (response.json()["text"], response.json()["source"]) == ("up to 2% of records", "collection")
    response = as_user(liaison).patch(one, {"count": 0}, format="json")
    assert response.status_code == 200 and response.json()["text"] == ZERO
    assert as_user(provider_user).get(one).json()["text"] == ZERO  # provider staff see liaison's value
    bad = as_user(liaison).put(one, {"percent": "1", "count": 1}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "percent_or_count"
    assert as_user(liaison).put(f"{url}NOPE/", {"percent": "1"}, format="json").status_code == 400
    assert as_user(liaison).get(f"{url}NOPE/").status_code == 404
    assert AuditEvent.objects.filter(action="tolerance.set").count() == 2


def test_api_bounds_the_count_and_names_what_is_missing(liaison, collection, tst1):
    one = f"/api/v1/collections/{collection.reference}/tolerances/TST1/"
    client = as_user(liaison)
    for body in ({"count": 100000000000000000000}, {"count": services.MAX_TOLERANCE_COUNT + 1}):
        response = client.patch(one, body, format="json")
        assert response.status_code == 400, response.content  # was a 500 (OverflowError)
        assert "10000000" in response.json()["count"][0]
    for body in ({}, {"percent": None, "count": None}):
        response = client.patch(one, body, format="json")
        assert response.status_code == 400
        assert response.json() == {
            "code": "percent_or_count",
            "detail": "Give a percentage of records or a number of records.",
        }
    assert not RuleTolerance.objects.exists()


def test_api_delete_resets_to_the_rules_default(provider_user, liaison, collection, tst1):
    one = f"/api/v1/collections/{collection.reference}/tolerances/TST1/"
    assert as_user(liaison).put(one, {"count": 3}, format="json").json()["source"] == "collection"
    assert as_user(provider_user).delete(one).status_code == 403
    assert RuleTolerance.objects.exists()
    response = as_user(liaison).delete(one)
    assert response.status_code == 200
    assert (response.json()["source"], response.json()["text"]) == ("default", "up to 5% of records")
    assert not RuleTolerance.objects.exists()
    again = as_user(liaison).delete(one)  # already the default: the same answer, nothing logged
    assert again.status_code == 200 and again.json()["source"] == "default"
    assert AuditEvent.objects.filter(action="tolerance.reset").count() == 1
    assert as_user(liaison).delete(f"/api/v1/collections/{collection.reference}/tolerances/NOPE/").status_code == 400
    assert as_user(liaison).delete("/api/v1/collections/C99999/tolerances/TST1/").status_code == 404


def test_api_another_provider_cannot_see_the_submissions_tolerance_figures(
    provider, other_provider, liaison, collection, tst1
):
    submission = make_submission(provider, collection, instances=300)
    add_warnings(submission, "TST1", 1)
    services.tolerance_set(collection=collection, code="TST1", percent="0.33", user=liaison)
    url = f"/api/v1/submissions/{submission.pk}/approve/"
    assert as_user(ApproverFactory(provider=other_provider)).get(url).status_code == 404
    [warning] = as_user(ApproverFactory(provider=provider)).get(url).json()["warnings"]
    assert warning["percent"] == "0.33" and warning["percent_text"] == "0.33%"
    assert (warning["tolerance"], warning["tolerance_source"], warning["blocks_approval"]) == (
        "up to 0.33% of records",
        "collection",
        True,
    )


def test_openapi_schema_has_the_tolerance_routes():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert "get" in paths["/api/v1/collections/{reference}/tolerances/"]
    assert {"get", "put", "patch", "delete"} <= set(paths["/api/v1/collections/{reference}/tolerances/{code}/"])


# -- the screen --------------------------------------------------------------------------------


def test_screen_liaison_changes_provider_reads(client, provider_user, liaison, collection, tst1):
    url = reverse("collection_tolerances", args=[collection.reference])
    client.force_login(provider_user)
    page = client.get(url).content.decode()
    assert "up to 5% of records" in page and 'name="value"' not in page  # read-only
    assert client.post(url, {"code": "TST1", "value": "1", "unit": "percent"}).status_code == 403
    assert (
        "Warning tolerances" in client.get(reverse("collection_detail", args=[collection.reference])).content.decode()
    )

    client.force_login(liaison)
    detail = client.get(reverse("collection_detail", args=[collection.reference])).content.decode()
    assert f'href="{url}"' in detail and "Set warning tolerances" in detail
    assert 'name="value"' in client.get(url).content.decode()
    response = client.post(url, {"code": "TST1", "value": "0", "unit": "percent"}, follow=True)
    assert "Tolerance of check TST1 saved." in response.content.decode()
    assert ZERO in response.content.decode()
    response = client.post(url, {"code": "TST1", "value": "1.234", "unit": "percent"}, follow=True)
    assert "at most 2 decimal places" in response.content.decode()
    response = client.post(url, {"code": "TST1", "value": "4", "unit": "count"}, follow=True)
    assert "up to 4 records" in response.content.decode()
    assert RuleTolerance.objects.get(code="TST1").count == 4
    # Back to the check's default, from the page too (only where liaison set one).
    assert response.content.decode().count('name="reset"') == 1
    response = client.post(url, {"code": "TST1", "reset": "1"}, follow=True)
    page = response.content.decode()
    assert "Tolerance of check TST1 is back to the check&#x27;s default." in page
    assert not RuleTolerance.objects.filter(code="TST1").exists() and 'name="reset"' not in page
    client.force_login(provider_user)
    assert client.post(url, {"code": "TST1", "reset": "1"}).status_code == 403


def test_submission_page_says_zero_tolerance_blocks_instead_of_none(client, provider, provider_user, collection):
    with temporary_rule("TST2"):
        submission = make_submission(provider, collection, instances=300)
        add_warnings(submission, "TST2", 1)
        client.force_login(provider_user)
        page = client.get(reverse("submission_detail", args=[submission.pk])).content.decode()
    assert ZERO in page and "<td>None</td>" not in page
    assert "0.33% of 300" in page


def test_the_approval_panel_rounds_the_share_of_records(client, provider, provider_user, collection):
    with temporary_rule("TST2"):
        submission = make_submission(provider, collection, instances=300)
        add_warnings(submission, "TST2", 2)
        client.force_login(provider_user)
        page = client.get(reverse("submission_detail", args=[submission.pk])).content.decode()
    assert "0.67% of 300" in page and "0.66%" not in page  # 2 in 300 is 0.666...%
