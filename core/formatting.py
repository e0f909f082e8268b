"""Dates and times as people in the UK read them, in Europe/London time: for selectors, CSV
exports and templates alike (the portal_tags filters call these)."""

from datetime import timedelta

from django.conf import settings
from django.utils import dateformat, timezone
from django.utils.timesince import timesince, timeuntil

# Below this, "in 0 minutes" would be misleading: say so plainly instead.
_IMMINENT = timedelta(minutes=1)
# Up to this far a deadline is counted in days; beyond, in the largest unit (months, years).
_IN_DAYS = timedelta(weeks=8)


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
    if -_IMMINENT < delta < timedelta(0):
        return f"{prefix}passed just now"
    if timedelta(days=1) <= abs(delta) <= _IN_DAYS:
        # Whole calendar days in UK time, as the liaison grid counts them: "in 2 weeks" (one unit)
        # would say that of 20 days.
        days = abs((timezone.localdate(value) - timezone.localdate(now)).days)
        span = f"{days} day{'s' if days != 1 else ''}"
        return f"{prefix}in {span}" if delta > timedelta(0) else f"{prefix}passed {span} ago"
    if delta >= timedelta(0):
        return f"{prefix}in {timeuntil(value, now, depth=1)}"
    return f"{prefix}passed {timesince(value, now, depth=1)} ago"


def uk_datetime_text(value) -> str:
    """'21 Jul 2024, 17:00' in UK time.

    Uses settings.DATETIME_FORMAT literally: the en-gb locale's own format ("5 p.m.") would otherwise
    win over the setting, because localisation is always on.
    """
    if not value:
        return ""
    return dateformat.format(timezone.localtime(value), settings.DATETIME_FORMAT)


def uk_date_text(value) -> str:
    """'21 Jul 2024' (settings.DATE_FORMAT), a datetime taken in UK time first."""
    if not value:
        return ""
    if hasattr(value, "hour"):
        value = timezone.localtime(value)
    return dateformat.format(value, settings.DATE_FORMAT)
