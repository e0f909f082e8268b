"""Template helpers for the portal screens: deadline countdowns and sortable table headers."""

import html

from django import template
from django.http import QueryDict
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core.formatting import countdown_text, uk_date_text, uk_datetime_text

register = template.Library()


@register.simple_tag
def provider_options(providers, selected="") -> SafeString:
    """The `<option>`s of a provider filter, "Name (UKPRN)", the one whose UKPRN is `selected` marked.
    A tag rather than a template loop, with the standard library's escape rather than format_html's
    per-argument machinery: liaison pages list the sector's 150-200 providers, and drawing them took
    a good part of those pages' time."""
    selected = str(selected or "")
    options = []
    for p in providers:
        ukprn = html.escape(p.ukprn)
        mark = " selected" if p.ukprn == selected else ""
        options.append(f'<option value="{ukprn}"{mark}>{html.escape(p.name)} ({ukprn})</option>')
    return SafeString("".join(options))  # every value escaped above


@register.filter
def countdown(value, label=""):
    """{{ collection.closes_at|countdown:"closes" }} -> "closes in 3 days"."""
    return countdown_text(value, label)


@register.filter
def uk_datetime(value) -> str:
    return uk_datetime_text(value)


@register.filter
def uk_date(value) -> str:
    """'21 Jul 2024' (settings.DATE_FORMAT)."""
    return uk_date_text(value)


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


@register.filter
def hidden_inputs(query: str):
    """A list's other GET parameters (urlencoded) as hidden inputs, so a "go to page" form keeps them."""
    pairs = QueryDict(query or "")
    return format_html_join(
        "",
        '<input type="hidden" name="{}" value="{}">',
        ((key, value) for key, values in pairs.lists() if key not in ("page", "after", "before") for value in values),
    )
