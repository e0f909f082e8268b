"""Template helpers for the portal screens: deadline countdowns and sortable table headers."""

from datetime import timedelta

from django import template
from django.conf import settings
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

register = template.Library()

# Below this, "in 0 minutes" would be misleading: say so plainly instead.
_IMMINENT = timedelta(minutes=1)


def countdown_text(value, label: str = "", *, now=None) -> str:
    """'closes in 3 days' / 'closed 2 hours ago'-style text for a deadline.

    One unit only (depth=1): on a dashboard "3 days" reads better than "3 days, 4 hours".
    """
    if not value:
        return ""
    now = now or timezone.now()
    prefix = f"{label} " if label else ""
    delta = value - now
    if timedelta(0) <= delta < _IMMINENT:
        return f"{prefix}in less than a minute"
    if delta >= timedelta(0):
        return f"{prefix}in {timeuntil(value, now, depth=1)}"
    if -delta < _IMMINENT:
        return f"{prefix}passed just now"
    return f"{prefix}passed {timesince(value, now, depth=1)} ago"


@register.filter
def countdown(value, label=""):
    """{{ collection.closes_at|countdown:"closes" }} -> "closes in 3 days"."""
    return countdown_text(value, label)


def uk_datetime_text(value) -> str:
    """'21 Jul 2024, 17:00' in UK time.

    Uses settings.DATETIME_FORMAT literally: the en-gb locale's own format ("5 p.m.") would otherwise
    win over the setting, because localisation is always on.
    """
    if not value:
        return ""
    return dateformat.format(timezone.localtime(value), settings.DATETIME_FORMAT)


@register.filter
def uk_datetime(value) -> str:
    return uk_datetime_text(value)


@register.filter
def uk_date(value) -> str:
    """'21 Jul 2024' (settings.DATE_FORMAT)."""
    if not value:
        return ""
    if hasattr(value, "hour"):
        value = timezone.localtime(value)
    return dateformat.format(value, settings.DATE_FORMAT)


@register.filter
def lines(value) -> str:
    """A list shown one item per line in a textarea or <pre>."""
    if not value:
        return ""
    return "\n".join(str(item) for item in value)


@register.simple_tag(takes_context=True)
def sortable_th(context, key: str, label: str, css_class: str = ""):
    """A <th> whose link re-sorts the table by `key`; clicking again reverses the order.

    Keeps the other query parameters (the filter text) and reports the state with aria-sort.
    """
    request = context["request"]
    # The view lists the sort each table actually uses (defaults included) in `active_sorts`.
    active = context.get("active_sorts") or [request.GET.get("sort", "")]
    ascending_now = key in active
    descending_now = f"-{key}" in active
    params = request.GET.copy()
    params["sort"] = f"-{key}" if ascending_now else key
    params.pop("page", None)
    if ascending_now:
        aria, arrow = "ascending", " ▲"
    elif descending_now:
        aria, arrow = "descending", " ▼"
    else:
        aria, arrow = "none", ""
    return format_html(
        '<th scope="col" class="{}" aria-sort="{}"><a href="?{}">{}<span aria-hidden="true">{}</span></a></th>',
        css_class,
        aria,
        params.urlencode(),
        label,
        arrow,
    )
