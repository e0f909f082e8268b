"""core.pagination: keyset pages give exactly the rows OFFSET pages would, whichever way they are reached."""

import pytest
from django.test import RequestFactory

from collections_app.models import RuleFailure
from core.api import KeysetAPIPagination
from core.pagination import KeysetPaginator, decode_cursor, encode_cursor

from ..factories import SubmissionFactory

PER_PAGE = 7


@pytest.fixture
def failures(db):
    submission = SubmissionFactory()
    # Repeated lines and HUSIDs, and some rows without a line (NULL), so ties and NULLs are crossed.
    RuleFailure.objects.bulk_create(
        RuleFailure(
            submission=submission,
            code="R1",
            severity="error",
            line=None if i % 9 == 0 else i % 11,
            husid=f"{i % 5:013d}",
            message="m",
        )
        for i in range(60)
    )
    return RuleFailure.objects.filter(submission=submission)


ORDERS = [("line", "id"), ("-line", "-id"), ("husid", "-line", "id"), ("-husid", "line")]


def _ids(rows):
    return [r.pk for r in rows]


@pytest.mark.parametrize("order", ORDERS)
def test_walking_forward_and_back_by_cursor_reads_every_row_once_in_order(failures, order):
    queryset = failures.order_by(*order)
    expected = _ids(queryset.order_by(*order, "id") if order[-1].lstrip("-") != "id" else queryset)
    paginator = KeysetPaginator(queryset, PER_PAGE)
    page = paginator.get_page(1)
    seen = _ids(page)
    while page.has_next():
        page = paginator.get_page(page.number + 1, after=page.next_cursor)
        seen += _ids(page)
    assert seen == expected
    assert page.number == paginator.num_pages == 9 and page.end_index() == 60
    back = _ids(page)
    while page.has_previous():
        page = paginator.get_page(page.number - 1, before=page.previous_cursor)
        back = _ids(page) + back
    assert back == expected


@pytest.mark.parametrize("order", ORDERS)
def test_a_page_number_is_the_same_rows_as_the_offset_page(failures, order):
    paginator = KeysetPaginator(failures.order_by(*order), PER_PAGE)
    expected = _ids(paginator.queryset)
    for number in (1, 2, 5, 6, 8, 9, "last"):
        page = paginator.get_page(number)
        n = paginator.num_pages if number == "last" else number
        assert _ids(page) == expected[(n - 1) * PER_PAGE : n * PER_PAGE], number
        assert page.start_index() == (n - 1) * PER_PAGE + 1


def test_a_passed_count_is_used_and_pages_are_clamped(failures, django_assert_num_queries):
    paginator = KeysetPaginator(failures.order_by("line", "id"), PER_PAGE, count=60)
    with django_assert_num_queries(1):  # the rows only: no COUNT
        page = paginator.get_page("999")
    assert page.number == 9 and len(page) == 4
    assert paginator.get_page("nonsense").number == 1
    assert paginator.page_of_position(20).number == 3


def test_a_bad_cursor_falls_back_to_the_page_number(failures):
    paginator = KeysetPaginator(failures.order_by("line", "id"), PER_PAGE)
    assert _ids(paginator.get_page(2, after="!!not-a-cursor")) == _ids(paginator.get_page(2))
    assert decode_cursor(encode_cursor([1, "a", None]), 3) == [1, "a", None]
    assert decode_cursor(encode_cursor([1, 2]), 3) is None


def test_the_api_pagination_links_carry_cursors_and_keep_count(failures):
    request = RequestFactory().get("/api/v1/x/?page=2&page_size=7")
    request.query_params = request.GET
    pagination = KeysetAPIPagination()
    rows = pagination.paginate_queryset(failures.order_by("line", "id"), request, count=60)
    answer = pagination.get_paginated_response([r.pk for r in rows]).data
    assert answer["count"] == 60
    assert "page=3" in answer["next"] and "after=" in answer["next"]
    assert "page=1" in answer["previous"] and "before=" not in answer["previous"]
    follow = RequestFactory().get(answer["next"])
    follow.query_params = follow.GET
    after = KeysetAPIPagination().paginate_queryset(failures.order_by("line", "id"), follow, count=60)
    assert _ids(after) == _ids(KeysetPaginator(failures.order_by("line", "id"), PER_PAGE).get_page(3))
