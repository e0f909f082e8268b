"""Turning query parameters into AuditFilters, shared by the screen, its CSV and the API.

Each filter is applied for every user after the log is scoped to them (audit.selectors), as the
other lists do: provider staff naming another provider's UKPRN see nothing, never their own
events presented as that provider's. A value that cannot be a filter (a date that is no date, a
submission that is no id, an unknown sort) is a problem: the API answers 400 with it, the screen
says so and leaves that filter out."""

from __future__ import annotations

import re
from datetime import date

from core.ids import ID_RANGE, id_from

from .selectors import DEFAULT_SORT, SORTS, AuditFilters

UKPRN = re.compile(r"\d{8}", re.ASCII)


def _date(value: str) -> date | None:
    """Accepts 2024-07-21 (what <input type=date> sends) or 21/07/2024; None if it is neither."""
    try:
        if "/" in value:
            day, month, year = (int(part) for part in value.split("/"))
            return date(year, month, day)
        return date.fromisoformat(value)
    except (ValueError, OverflowError):
        return None


def _quoted(value: str) -> str:
    """A value as the user gave it, in quotes, cut short if long (it is echoed in a message)."""
    return f"“{value[:40]}…”" if len(value) > 40 else f"“{value}”"


def filters_from(params) -> tuple[AuditFilters, dict[str, str]]:
    """The filters in `params`, and the problems: parameter name -> what is wrong with its value
    (that filter is left out)."""
    problems: dict[str, str] = {}
    text = {name: (params.get(name) or "").strip() for name in ("provider", "from", "to", "submission", "sort")}

    provider = text["provider"]
    if provider and not UKPRN.fullmatch(provider):
        problems["provider"] = f"{_quoted(provider)} is not a UKPRN: a UKPRN is exactly 8 digits."
        provider = ""
    dates = {}
    for name in ("from", "to"):
        dates[name] = _date(text[name]) if text[name] else None
        if text[name] and dates[name] is None:
            problems[name] = f"{_quoted(text[name])} is not a date: give it as YYYY-MM-DD (or DD/MM/YYYY)."
    submission = id_from(text["submission"]) if text["submission"] else None
    if text["submission"] and submission is None:
        problems["submission"] = f"{_quoted(text['submission'])} is not a submission id: give {ID_RANGE}."
    sort = text["sort"] or DEFAULT_SORT
    if sort not in SORTS:
        problems["sort"] = f"{_quoted(sort)} is not a sort: use one of {', '.join(SORTS)}."
        sort = DEFAULT_SORT
    filters = AuditFilters(
        provider=provider,
        collection=(params.get("collection") or "").strip(),
        action=(params.get("action") or "").strip(),
        actor=(params.get("actor") or "").strip(),
        date_from=dates["from"],
        date_to=dates["to"],
        submission=submission,
        sort=sort,
    )
    return filters, problems
