"""The liaison grid at sector scale and the provider page (issue 12, item 9): open collections by
default, a summary row per collection with days to its deadline, no "Failed (failed)", provider
names leading to a page with the provider's collections, submissions, queries, overrides and people."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from collections_app.models import SubmissionStatus
from review import selectors, services
from review.models import OverrideRequest

from ..factories import CollectionFactory
from ..review_helpers import add_warnings, make_submission, temporary_rule


def _page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def closed_collection(db):
    return CollectionFactory(
        reference="C22051",
        name="Student record 2022/23",
        reporting_year=2022,
        opens=timezone.now() - timedelta(days=400),
        approval_deadline=timezone.now() - timedelta(days=30),
    )


def test_grid_shows_open_collections_unless_asked_for_closed_ones(client, liaison, collection, closed_collection):
    client.force_login(liaison)
    page = _page(client, reverse("liaison_grid"))
    assert f'data-summary="{collection.reference}"' in page
    assert f'data-summary="{closed_collection.reference}"' not in page
    assert 'type="checkbox" name="collection"' in page and '<select id="g-collection"' not in page
    page = _page(client, reverse("liaison_grid"), show="all")
    assert f'data-summary="{closed_collection.reference}"' in page
    # Choosing a closed collection by name shows it too.
    page = _page(client, reverse("liaison_grid"), collection=closed_collection.reference)
    assert (
        f'data-summary="{closed_collection.reference}"' in page and f'data-summary="{collection.reference}"' not in page
    )


def test_summary_row_counts_each_collection_apart_and_says_days_to_deadline(
    client, liaison, provider, other_provider, collection, closed_collection
):
    make_submission(provider, collection)
    make_submission(other_provider, collection, status=SubmissionStatus.FAILED)
    make_submission(provider, closed_collection, status=SubmissionStatus.FAILED)
    make_submission(other_provider, closed_collection, status=SubmissionStatus.FAILED)
    client.force_login(liaison)
    page = _page(client, reverse("liaison_grid"), show="all")
    new, old = collection.reference, closed_collection.reference
    assert (
        f'data-state-count="{new}-failed">Failed: 1<' in page and f'data-state-count="{new}-passed">Passed: 1<' in page
    )
    assert f'data-state-count="{old}-failed">Failed: 2<' in page and f'data-state-count="{old}-passed"' not in page
    days = (timezone.localdate(collection.approval_deadline) - timezone.localdate()).days
    assert f"{days} days to the approval deadline" in page
    assert "Approval deadline passed 30 days ago" in page
    # The stacked bar has one segment per state present, widths summing to 100%.
    bar = re.search(rf'data-summary="{new}">\s*<svg(.*?)</svg>', page, re.S).group(1)
    widths = [float(w) for w in re.findall(r'width="([\d.]+)"', bar)]
    assert len(widths) == 2 and abs(sum(widths) - 100) < 0.02


def test_cells_do_not_repeat_their_state(client, liaison, provider, other_provider, collection):
    make_submission(provider, collection, status=SubmissionStatus.FAILED)
    make_submission(other_provider, collection, status=SubmissionStatus.REJECTED)
    client.force_login(liaison)
    page = _page(client, reverse("liaison_grid"))
    assert "(failed)" not in page
    assert "(rejected)" in page  # a different status under "Failed" is still said


def test_provider_names_lead_to_the_provider_page(client, liaison, provider, approver, collection):
    client.force_login(liaison)
    page = _page(client, reverse("liaison_grid"))
    url = reverse("liaison_provider", args=[provider.ukprn])
    assert f'<a href="{url}">{provider.name}</a>' in page


def test_a_cell_escapes_the_provider_name_and_links_its_submission(client, liaison, provider, collection):
    """The cells are built by a template tag (review_tags.grid_cell), not the template: the provider's
    name (set by liaison, shown in each cell's link title) is still escaped, and the cell links to
    the submission, its flagged figures and its open queries."""
    provider.name = 'Uni <script>alert(1)</script> "quoted"'
    provider.save()
    submission = make_submission(provider, collection, status=SubmissionStatus.FAILED)
    client.force_login(liaison)
    page = _page(client, reverse("liaison_grid"))
    assert "<script>alert(1)" not in page
    cell_id = f"cell-{provider.ukprn}-{collection.reference}"
    cell = re.search(rf'<td class="cell" id="{cell_id}" data-state="failed">(.*?)</td>', page, re.S).group(1)
    assert f'href="{reverse("submission_detail", args=[submission.pk])}"' in cell
    assert 'title="Uni &lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; ' in cell
    assert '<span class="badge state-failed">Failed</span>' in cell


def test_provider_page_shows_collections_submissions_queries_overrides_and_people(
    client, liaison, provider, other_provider, approver, provider_user, collection
):
    provider_user.email = "data.manager@glos.example"
    provider_user.save()
    with temporary_rule("GRID.W1", percent=1):
        submission = make_submission(provider, collection)
        add_warnings(submission, "GRID.W1", 5)
        services.override_request(
            submission=submission, code="GRID.W1", percent=5, justification="Known.", user=approver
        )
    services.query_raise(submission=submission, user=liaison, subject="Totals look low", body="Check.")
    other = make_submission(other_provider, collection)
    client.force_login(liaison)
    page = _page(client, reverse("liaison_provider", args=[provider.ukprn]))
    assert provider.name in page and provider.ukprn in page
    assert f'href="{reverse("submission_detail", args=[submission.pk])}"' in page
    assert f'href="{reverse("submission_detail", args=[other.pk])}"' not in page
    assert "Totals look low" in page
    assert "GRID.W1" in page and "Waiting for liaison" in page
    assert "data.manager@glos.example" in page and approver.display_name in page
    assert other_provider.name not in page
    assert client.get(reverse("liaison_provider", args=["99999999"])).status_code == 404
    assert client.get("/liaison/providers/new/").status_code == 200  # not taken for a UKPRN


def test_provider_page_says_how_many_more_and_where_to_find_them(
    client, liaison, provider, other_provider, approver, collection, monkeypatch
):
    monkeypatch.setattr(selectors, "PROVIDER_PAGE_LIMIT", 2)
    submissions = [make_submission(provider, collection, status=SubmissionStatus.SUPERSEDED) for _ in range(3)]
    for n, submission in enumerate(submissions):
        services.query_raise(submission=submission, user=liaison, subject=f"Query {n}", body="Check.")
        OverrideRequest.objects.create(
            submission=submission, provider=provider, collection=collection, code=f"OV.W{n}", percent=5,
            justification="Known.", requested_by=approver,
        )  # fmt: skip
    other = make_submission(other_provider, collection)
    OverrideRequest.objects.create(
        submission=other, provider=other_provider, collection=collection, code="OTHER.W", percent=5,
        justification="Theirs.", requested_by=approver,
    )  # fmt: skip
    client.force_login(liaison)
    page = _page(client, reverse("liaison_provider", args=[provider.ukprn]))
    assert "The latest 2 of 3, newest first" in page
    assert f'href="{reverse("submission_detail", args=[submissions[0].pk])}"' not in page  # the oldest
    overrides_url = f"{reverse('override_list')}?provider={provider.ukprn}&amp;status=all"
    assert 'The latest 2 of 3: <a href="' + f"{reverse('query_list')}?provider={provider.ukprn}&amp;status=all" in page
    assert f'The latest 2 of 3: <a href="{overrides_url}">' in page
    # The override requests page, filtered to the provider, has all three and no one else's.
    listed = _page(client, reverse("override_list"), provider=provider.ukprn, status="all")
    assert all(f"OV.W{n}" in listed for n in range(3)) and "OTHER.W" not in listed
    assert "3 requests." in listed
    assert f'<option value="{provider.ukprn}" selected>' in listed


def test_provider_page_with_few_rows_has_no_count(client, liaison, provider, collection):
    make_submission(provider, collection)
    client.force_login(liaison)
    page = _page(client, reverse("liaison_provider", args=[provider.ukprn]))
    assert "Newest first." in page and "The latest" not in page


def test_provider_page_is_liaison_only(client, provider, provider_user):
    client.force_login(provider_user)
    assert client.get(reverse("liaison_provider", args=[provider.ukprn])).status_code == 403
