"""Turning query parameters into AuditFilters, shared by the screen, its CSV and the API."""

from __future__ import annotations

from datetime import date

from .selectors import DEFAULT_SORT, SORTS, AuditFilters


def _date(value: str | None) -> date | None:
    """Accepts 2024-07-21 (what <input type=date> sends) or 21/07/2024."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        if "/" in value:
            day, month, year = (int(part) for part in value.split("/"))
            return date(year, month, day)
        return date.fromisoformat(value)
    except ValueError:
        return None


def filters_from(params, *, user_is_liaison: bool) -> AuditFilters:
    sort = params.get("sort") or DEFAULT_SORT
    submission = params.get("submission") or ""
    return AuditFilters(
        # Provider staff are scoped to their own provider anyway; the filter is liaison's.
        provider=(params.get("provider") or "").strip() if user_is_liaison else "",
        collection=(params.get("collection") or "").strip(),
        action=(params.get("action") or "").strip(),
        actor=(params.get("actor") or "").strip(),
        date_from=_date(params.get("from")),
        date_to=_date(params.get("to")),
        submission=int(submission) if submission.isdigit() else None,
        sort=sort if sort in SORTS else DEFAULT_SORT,
    )
