"""The portal template tags: deadline countdowns and sortable headers."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.template import Context, Template
from django.test import RequestFactory

from portal.templatetags.portal_tags import countdown, countdown_text, lines, uk_date, uk_datetime

NOW = datetime(2024, 7, 18, 12, 0, tzinfo=ZoneInfo("Europe/London"))


def plain(text: str) -> str:
    return text.replace("\xa0", " ")  # Django's timeuntil joins number and unit with a no-break space


@pytest.mark.parametrize(
    "delta,label,expected",
    [
        (timedelta(days=3, hours=5), "closes", "closes in 3 days"),
        (timedelta(hours=5, minutes=20), "approval deadline", "approval deadline in 5 hours"),
        (timedelta(minutes=1, seconds=30), "closes", "closes in 1 minute"),
        (timedelta(seconds=20), "closes", "closes in less than a minute"),
        (timedelta(days=-2, hours=-3), "approval deadline", "approval deadline passed 2 days ago"),
        (timedelta(seconds=-10), "closes", "closes passed just now"),
        (timedelta(days=1), "", "in 1 day"),
        # Days up to eight weeks, as the liaison grid counts them (one unit would say "2 weeks" of 20 days).
        (timedelta(days=20, hours=3), "approval deadline", "approval deadline in 20 days"),
        (timedelta(weeks=5), "opens", "opens in 35 days"),
        (timedelta(days=-20, hours=-13), "closes", "closes passed 21 days ago"),  # 23:00 three weeks ago
        (timedelta(weeks=10), "opens", "opens in 2 months"),
    ],
)
def test_countdown_text(delta, label, expected):
    assert plain(countdown_text(NOW + delta, label, now=NOW)) == expected


def test_countdown_empty_value():
    assert countdown(None, "closes") == ""
    assert countdown_text(None, "closes", now=NOW) == ""


def test_countdown_filter_uses_current_time():
    with time_machine.travel(NOW, tick=False):
        rendered = Template('{% load portal_tags %}{{ deadline|countdown:"closes" }}').render(
            Context({"deadline": NOW + timedelta(days=3)})
        )
    assert plain(rendered) == "closes in 3 days"


def test_countdown_ignores_time_zone_of_value():
    utc_deadline = (NOW + timedelta(hours=5)).astimezone(ZoneInfo("UTC"))
    assert plain(countdown_text(utc_deadline, "closes", now=NOW)) == "closes in 5 hours"


def test_uk_datetime_is_24_hour_uk_time():
    # 16:00 UTC in July is 17:00 British Summer Time; in January UTC and UK time agree.
    assert uk_datetime(datetime(2024, 7, 21, 16, 0, tzinfo=ZoneInfo("UTC"))) == "21 Jul 2024, 17:00"
    assert uk_datetime(datetime(2025, 1, 9, 9, 5, tzinfo=ZoneInfo("UTC"))) == "9 Jan 2025, 09:05"
    assert uk_datetime(None) == ""
    assert uk_date(datetime(2024, 7, 31, 23, 30, tzinfo=ZoneInfo("UTC"))) == "1 Aug 2024"


def test_lines_filter():
    assert lines(["a.ac.uk", "b.ac.uk"]) == "a.ac.uk\nb.ac.uk"
    assert lines(None) == ""


def _render_th(query: str, active_sorts=None) -> str:
    request = RequestFactory().get(f"/liaison/{query}")
    context = {"request": request}
    if active_sorts is not None:
        context["active_sorts"] = active_sorts
    return Template('{% load portal_tags %}{% sortable_th "providers.name" "Name" %}').render(Context(context))


def test_sortable_th_toggles_and_keeps_filter():
    html = _render_th("?q=glos")
    assert 'aria-sort="none"' in html
    assert "sort=providers.name" in html and "q=glos" in html

    html = _render_th("?q=glos&sort=providers.name")
    assert 'aria-sort="ascending"' in html
    assert "sort=-providers.name" in html

    html = _render_th("?sort=-providers.name")
    assert 'aria-sort="descending"' in html
    assert "sort=providers.name" in html and "sort=-providers.name" not in html


def test_sortable_th_reports_default_sort_from_view():
    html = _render_th("", active_sorts=["providers.name", "-collections.year"])
    assert 'aria-sort="ascending"' in html


def test_sortable_th_escapes_label():
    request = RequestFactory().get("/")
    html = Template('{% load portal_tags %}{% sortable_th "x" label %}').render(
        Context({"request": request, "label": "<script>"})
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
