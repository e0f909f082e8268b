"""Graduate Outcomes cohorts: which course ends each cohort covers and when its graduates are
contacted, from the collection year and the cohort letter alone (spec: "Cohorts and schedule").

Pure functions, no database: the liaison form, the API and the population build all use them.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
# The portal's deadline times (as the demo collections): deadlines at 17:00, openings at 09:00, UK time.
DEADLINE_TIME = time(17, 0)
OPENING_TIME = time(9, 0)
FRIDAY = 4

# cohort -> (first month of the course-end window, offset in years from Y); each window is 3 months.
_COURSE_END_START = {"A": (8, 0), "B": (11, 0), "C": (2, 1), "D": (5, 1)}
# cohort -> (first month of the contact period, offset in years from Y); each period is 3 months.
_CONTACT_START = {"A": (12, 1), "B": (3, 2), "C": (6, 2), "D": (9, 2)}
COHORTS = tuple(_COURSE_END_START)


@dataclass(frozen=True)
class CohortSchedule:
    cohort: str
    course_end_start: date  # DATELEFT window, both ends inclusive
    course_end_end: date
    contact_period_start: date
    contact_period_end: date
    opens: datetime
    approval_deadline: datetime
    final_updates_deadline: datetime


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _three_months(year: int, month: int) -> tuple[date, date]:
    """The first day of (year, month) and the last day of the second month after it."""
    end_year, end_month = _add_months(year, month, 2)
    return date(year, month, 1), date(end_year, end_month, calendar.monthrange(end_year, end_month)[1])


def course_end_window(year: int, cohort: str) -> tuple[date, date]:
    """DATELEFT from..to (inclusive) of the cohort's graduates, for collection year Y = `year`."""
    month, offset = _COURSE_END_START[cohort]
    return _three_months(year + offset, month)


def contact_period(year: int, cohort: str) -> tuple[date, date]:
    month, offset = _CONTACT_START[cohort]
    return _three_months(year + offset, month)


def london(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=LONDON)


def approval_deadline_for(contact_period_start: date) -> datetime:
    """About two weeks before the contact period: the last Friday at least 14 days before it
    (the agency's C22071 deadlines for cohorts B, C and D fall exactly so)."""
    day = contact_period_start - timedelta(days=14)
    day -= timedelta(days=(day.weekday() - FRIDAY) % 7)
    return london(day, DEADLINE_TIME)


def final_updates_deadline_for(contact_period_end: date) -> datetime:
    """One week before the contact period ends."""
    return london(contact_period_end - timedelta(days=7), DEADLINE_TIME)


def opens_for(contact_period_start: date) -> datetime:
    """The first of the month three months before the contact period (uploads then have about
    ten weeks before the approval deadline)."""
    year, month = _add_months(contact_period_start.year, contact_period_start.month, -3)
    return london(date(year, month, 1), OPENING_TIME)


def cohort_schedule(year: int, cohort: str) -> CohortSchedule:
    """The default schedule of cohort `cohort` (A-D) of collection year `year` (2022 for C22071)."""
    if cohort not in _COURSE_END_START:
        raise ValueError(f"Unknown cohort {cohort!r}: one of {', '.join(COHORTS)}.")
    course_from, course_to = course_end_window(year, cohort)
    start, end = contact_period(year, cohort)
    return CohortSchedule(
        cohort=cohort,
        course_end_start=course_from,
        course_end_end=course_to,
        contact_period_start=start,
        contact_period_end=end,
        opens=opens_for(start),
        approval_deadline=approval_deadline_for(start),
        final_updates_deadline=final_updates_deadline_for(end),
    )
