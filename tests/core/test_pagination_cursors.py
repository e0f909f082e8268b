"""core.pagination through the real lists: a forged or stale cursor never answers 500 (the page
number rules instead), and a cursor page knows its own place whatever `page` says."""

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from collections_app.models import RuleFailure, RuleResult, Severity
from core.pagination import KeysetPaginator, decode_cursor, encode_cursor
from student_record.models import Instance, Student

from ..review_helpers import make_submission

ROWS = 120  # more than two of the screens' pages of 50
BIG = 2**64


def _raw(text: str) -> str:
    """A cursor from JSON text as typed (Infinity, NaN, deep nesting: what a forger can send)."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _cursor(values) -> str:
    return _raw(json.dumps(values))


@pytest.fixture
def listed(provider, provider_user, collection):
    """A submission with ROWS failures (lines 1..ROWS, one with no line), HIN report A findings and
    a Target List of ROWS records."""
    submission = make_submission(provider, collection, instances=ROWS)
    RuleResult.objects.create(submission=submission, code="R1", severity=Severity.ERROR, failure_count=ROWS)
    RuleFailure.objects.bulk_create(
        RuleFailure(
            submission=submission,
            code="R1",
            severity=Severity.ERROR,
            line=None if i == ROWS else i,  # a whole-file failure: NULL sorts last going up
            husid=f"{i:013d}",
            message="m",
        )
        for i in range(1, ROWS + 1)
    )
    RuleResult.objects.create(submission=submission, code="HIN1", severity=Severity.WARNING, failure_count=10)
    RuleFailure.objects.bulk_create(
        RuleFailure(
            submission=submission, code="HIN1", severity=Severity.WARNING, line=i, husid=f"{i:013d}", message="m"
        )
        for i in range(1, 11)
    )
    base = submission.pk * 1_000_000
    Student.objects.bulk_create(
        Student(
            id=base + i,
            submission=submission,
            line=i,
            husid=f"{i:013d}",
            fnames="Sam",
            surname=f"Smith{i}",
            birthdte=date(2000, 1, 1),
            gender="F",
            ethnic="10",
        )
        for i in range(1, ROWS + 1)
    )
    Instance.objects.bulk_create(
        Instance(
            id=base + i,
            submission=submission,
            student_id=base + i,
            line=i,
            husid=f"{i:013d}",
            numhus="1",
            qualaim="M2",
            ptitle="History",
            comdate=date(2022, 9, 1),
            mode="01",
        )
        for i in range(1, ROWS + 1)
    )
    return submission


@pytest.fixture
def api(provider_user):
    client = APIClient()
    client.force_authenticate(provider_user)
    return client


@pytest.fixture
def events(provider):
    """ROWS audit events of the provider, one microsecond apart: many fall in one millisecond."""
    start = datetime(2024, 7, 1, 9, 0, 0, 123000, tzinfo=UTC)
    return AuditEvent.objects.bulk_create(
        AuditEvent(
            at=start + timedelta(microseconds=i), action="submission.uploaded", summary=f"E{i}", provider=provider
        )
        for i in range(ROWS)
    )


def _failures(submission):
    return list(RuleFailure.objects.filter(submission=submission, code="R1").order_by("line", "id"))


def _after(row) -> str:
    """The cursor of a failure in the (line, id) order."""
    return encode_cursor([row.line, row.pk])


def _ids(answer) -> list[int]:
    return [row["id"] for row in answer["results"]]


# 1. Forged cursors: the page number rules. ---------------------------------------------------------

# Cursors of a (line, id) order: every one is malformed for it.
FORGED_LINE_ID = [
    _cursor(["a", "b"]),  # the tester's: strings for integers
    _cursor(["2020-13-45", "2020-13-45"]),
    _cursor([1]),  # too short
    _cursor([1, 2, 3]),  # too long
    _cursor([]),
    _cursor({"line": 1}),
    _cursor("x"),
    _cursor([[1], 2]),
    _cursor([BIG, 1]),  # beyond 64 bits
    _cursor([1, BIG]),
    _cursor([-BIG, -BIG]),
    _cursor([1, None]),  # the id is never NULL
    _cursor([1, 2.5e300]),
    _raw("[Infinity, 1]"),
    _raw("[1, NaN]"),
    _raw("[1e999, 1]"),
    _cursor(["1\u0000", 1]),
    "!!not-base64!!",
    "é",
    _raw("[" * 5000 + "]" * 5000),  # too deep for the JSON decoder
    _raw("\xff\xfe"),
]


@pytest.mark.parametrize("cursor", FORGED_LINE_ID)
@pytest.mark.parametrize("direction", ["after", "before"])
def test_a_forged_cursor_on_the_failures_api_gives_the_numbered_page(api, listed, cursor, direction):
    url = f"/api/v1/submissions/{listed.pk}/failures/"
    expected = [f.pk for f in _failures(listed)]
    response = api.get(url, {"rule": "R1", "page_size": 10, direction: cursor})
    assert response.status_code == 200
    assert _ids(response.json()) == expected[:10]
    response = api.get(url, {"rule": "R1", "page_size": 10, "page": 3, direction: cursor})
    assert response.status_code == 200
    assert _ids(response.json()) == expected[20:30]


@pytest.mark.parametrize("cursor", FORGED_LINE_ID)
def test_a_forged_cursor_on_the_failures_page_gives_the_numbered_page(client, provider_user, listed, cursor):
    client.force_login(provider_user)
    url = reverse("submission_failures", args=[listed.pk])
    for direction in ("after", "before"):
        response = client.get(url, {"rule": "R1", direction: cursor, "page": 2})
        assert response.status_code == 200
        page = response.context["page"]
        assert page.number == 2 and page.start_index() == 51
        assert [f.pk for f in page] == [f.pk for f in _failures(listed)][50:100]


@pytest.mark.parametrize(
    "sort, cursor",
    [
        ("husid", _cursor(["\u0000", "1", 1])),  # PostgreSQL refuses NUL in a string
        ("husid", _cursor(["\ud800", "1", 1])),  # a lone surrogate cannot be encoded for the database
        ("husid", _cursor([None, "1", 1])),  # husid is never NULL
        ("husid", _cursor(["0000000000001", "1", BIG])),
        ("-line", _cursor([BIG, BIG])),
        ("surname", _cursor([[], None, 1])),
    ],
)
def test_a_forged_cursor_of_another_order_gives_the_first_page(api, listed, sort, cursor):
    url = f"/api/v1/submissions/{listed.pk}/failures/"
    first = api.get(url, {"sort": sort, "page_size": 5}).json()
    for direction in ("after", "before"):
        response = api.get(url, {"sort": sort, "page_size": 5, direction: cursor})
        assert response.status_code == 200
        assert _ids(response.json()) == _ids(first)


FORGED_AT_ID = [
    _cursor(["a", "b"]),
    _cursor(["2020-13-45", "2020-13-45"]),
    _cursor(["2020-13-45T10:00:00Z", 1]),
    _cursor(["2024-07-01", 1]),  # a date, not a time
    _cursor(["2024-07-01T09:00:00", 1]),  # no offset: which time is it?
    _cursor(["9999-12-31T23:59:59-12:00", 1]),  # past year 9999 in UTC
    _cursor(["0001-01-01T00:00:00+14:00", 1]),  # before year 1 in UTC
    _cursor([1720000000, 1]),
    _cursor([None, 1]),
    _cursor(["2024-07-01T09:00:00Z", BIG]),
    _cursor(["2024-07-01T09:00:00Z"]),
]


@pytest.mark.parametrize("cursor", FORGED_AT_ID)
def test_a_forged_cursor_on_the_audit_log_gives_the_first_page(api, client, provider_user, events, cursor):
    first = api.get("/api/v1/audit/", {"page_size": 10}).json()
    client.force_login(provider_user)
    for direction in ("after", "before"):
        response = api.get("/api/v1/audit/", {"page_size": 10, direction: cursor})
        assert response.status_code == 200
        assert _ids(response.json()) == _ids(first)
        response = client.get(reverse("audit_log"), {direction: cursor})
        assert response.status_code == 200
        assert response.context["page"].number == 1


@pytest.mark.parametrize(
    "cursor",
    [_cursor(["a", "b"]), _cursor([BIG, 1]), _cursor([-1, 1]), _cursor([1, "2020-13-45"]), _cursor([None, 1])],
)
def test_a_forged_cursor_on_the_hin_target_list_gives_the_first_page(api, client, provider_user, listed, cursor):
    url = f"/api/v1/submissions/{listed.pk}/hin-target-list/"
    first = api.get(url, {"page_size": 10}).json()
    client.force_login(provider_user)
    for direction in ("after", "before"):
        response = api.get(url, {"page_size": 10, direction: cursor})
        assert response.status_code == 200
        assert [r["husid"] for r in response.json()["results"]] == [r["husid"] for r in first["results"]]
        response = client.get(reverse("hin_target_list", args=[listed.pk]), {direction: cursor})
        assert response.status_code == 200 and response.context["page"].number == 1


@pytest.mark.parametrize(
    "cursor", [_cursor(["a", 1, 2]), _cursor([BIG, 1, 2]), _cursor([0, "x", 1]), _cursor([None, 1, 1])]
)
def test_a_forged_cursor_on_the_hin_report_gives_the_first_page(api, client, provider_user, listed, cursor):
    url = f"/api/v1/submissions/{listed.pk}/hin-report/"
    first = api.get(url, {"report": "A", "page_size": 3}).json()
    assert len(first["results"]) == 3
    client.force_login(provider_user)
    for direction in ("after", "before"):
        response = api.get(url, {"report": "A", "page_size": 3, direction: cursor})
        assert response.status_code == 200
        assert [r["id"] for r in response.json()["results"]] == [r["id"] for r in first["results"]]
        response = client.get(reverse("hin_report", args=[listed.pk]), {"report": "A", direction: cursor})
        assert response.status_code == 200 and response.context["page"].number == 1


def test_a_well_typed_cursor_is_converted_to_the_keys_types(listed):
    paginator = KeysetPaginator(RuleFailure.objects.filter(submission=listed, code="R1").order_by("line"), 5)
    rows = _failures(listed)
    # Numbers sent as text are still numbers.
    page = paginator.get_page(after=_cursor([str(v) for v in paginator.key_of(rows[2])]))
    assert [f.pk for f in page] == [f.pk for f in rows[3:8]] and page.start_index() == 4
    # NULL is a place in a nullable column (first going up on SQLite, last on PostgreSQL).
    unnumbered = next(i for i, f in enumerate(rows) if f.line is None)
    cursor = _cursor([None, rows[unnumbered].pk])
    # No rows beyond it (after the last, before the first): the page number rules, here page 1.
    after = paginator.get_page(after=cursor)
    assert [f.pk for f in after] == [f.pk for f in (rows[unnumbered + 1 : unnumbered + 6] or rows[:5])]
    before = paginator.get_page(before=cursor)
    assert [f.pk for f in before] == [f.pk for f in (rows[max(0, unnumbered - 5) : unnumbered] or rows[:5])]
    assert decode_cursor(_raw("[" * 5000 + "]" * 5000), 1) is None


# 2. A cursor page's place, whatever `page` says. ----------------------------------------------------


@pytest.mark.parametrize("claimed", [None, "1", "2", "6", "40", "last", "nonsense", "-3"])
def test_a_cursor_page_links_on_from_its_own_rows(api, listed, claimed):
    url = f"/api/v1/submissions/{listed.pk}/failures/"
    failures = _failures(listed)
    rows = [f.pk for f in failures]
    query = {"rule": "R1", "page_size": 3, "after": _after(failures[2])}
    if claimed is not None:
        query["page"] = claimed
    answer = api.get(url, query).json()
    assert _ids(answer) == rows[3:6]
    assert _ids(api.get(answer["next"]).json()) == rows[6:9]
    assert _ids(api.get(answer["previous"]).json()) == rows[0:3]
    assert "page=3" in answer["next"] and "page=1" in answer["previous"]
    # Before the 10th row, claiming page 1: rows 7-9 (page 3), and the links around them.
    query = {"rule": "R1", "page_size": 3, "before": _after(failures[9]), "page": "1"}
    answer = api.get(url, query).json()
    assert _ids(answer) == rows[6:9]
    assert _ids(api.get(answer["next"]).json()) == rows[9:12]
    assert _ids(api.get(answer["previous"]).json()) == rows[3:6]


def test_every_row_is_reached_from_a_cursor_whatever_page_it_claims(api, listed):
    url = f"/api/v1/submissions/{listed.pk}/failures/"
    failures = _failures(listed)
    rows = [f.pk for f in failures]
    # The tester's: the cursor of row 3 claiming to be page 6 of 6 (page_size 20) hid the rest.
    answer = api.get(url, {"rule": "R1", "page_size": 20, "after": _after(failures[2]), "page": 6}).json()
    seen = _ids(answer)
    while answer["next"]:
        answer = api.get(answer["next"]).json()
        seen += _ids(answer)
    assert seen == rows[3:]
    # A cursor off the page boundaries (after row 4 of pages of 3): back to the first row and on to the last.
    answer = api.get(url, {"rule": "R1", "page_size": 3, "after": _after(failures[3]), "page": 40}).json()
    assert _ids(answer) == rows[4:7]
    back = []
    while answer["previous"]:
        answer = api.get(answer["previous"]).json()
        back = _ids(answer) + back
    # Every row before is reached, the first page last (it may overlap the short page before it).
    assert set(back) == set(rows[:4]) and back[:3] == rows[:3]


def test_a_cursor_page_numbers_itself_from_the_rows_before_it(listed):
    rows = _failures(listed)
    paginator = KeysetPaginator(RuleFailure.objects.filter(submission=listed, code="R1").order_by("line"), 10)
    for claimed in (1, 4, 12, "last"):
        page = paginator.get_page(claimed, after=encode_cursor(paginator.key_of(rows[39])))
        assert (page.number, page.start_index(), page.end_index()) == (5, 41, 50)
        assert page.has_previous() and page.has_next()
        assert (page.previous_page_number(), page.next_page_number()) == (4, 6)
        page = paginator.get_page(claimed, before=encode_cursor(paginator.key_of(rows[110])))
        assert (page.number, page.start_index()) == (11, 101)
    # Off the boundaries: after row 44, rows 45-54 are on page 5 (the page holding row 45).
    page = paginator.get_page(9, after=encode_cursor(paginator.key_of(rows[43])))
    assert (page.number, page.start_index(), page.end_index()) == (5, 45, 54)
    assert page.previous_page_number() == 5 and "before=" in page.previous_query
    # Before row 6: rows 1-5, the first page however short.
    page = paginator.get_page(7, before=encode_cursor(paginator.key_of(rows[5])))
    assert [f.pk for f in page] == [f.pk for f in rows[:5]]
    assert page.number == 1 and not page.has_previous() and page.has_next()
    # After the last row: nothing there, so the page number rules.
    page = paginator.get_page(2, after=encode_cursor(paginator.key_of(rows[-1])))
    assert page.number == 2 and [f.pk for f in page] == [f.pk for f in rows[10:20]]


def test_the_failures_page_shows_its_place_with_a_cursor(client, provider_user, listed):
    client.force_login(provider_user)
    rows = _failures(listed)
    url = reverse("submission_failures", args=[listed.pk])
    response = client.get(url, {"rule": "R1", "page": 3, "after": _after(rows[49])})
    page = response.context["page"]
    assert (page.number, page.start_index(), page.end_index()) == (2, 51, 100)
    html = response.content.decode()
    assert "Page 2 of 3" in html and "rows 51–100" in html
    assert page.previous_query == "page=1" and "page=3&amp;after=" in html
    response = client.get(url + "?rule=R1&" + page.next_query)
    assert response.context["page"].number == 3 and [f.pk for f in response.context["page"]] == [
        f.pk for f in rows[100:]
    ]


def test_walking_the_audit_log_by_cursor_reads_every_event_once(api, events):
    """Events within one millisecond: a cursor keeps the microseconds, or rows repeat or vanish."""
    for sort, expected in (("-at", [e.pk for e in reversed(events)]), ("at", [e.pk for e in events])):
        answer = api.get("/api/v1/audit/", {"page_size": 7, "sort": sort}).json()
        seen = _ids(answer)
        while answer["next"]:
            answer = api.get(answer["next"]).json()
            seen += _ids(answer)
        assert seen == expected, sort
        back = _ids(answer)
        while answer["previous"]:
            answer = api.get(answer["previous"]).json()
            back = _ids(answer) + back
        assert back == expected, sort
