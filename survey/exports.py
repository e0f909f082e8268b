"""The survey feed as CSV (streamed through core.csv.csv_response).

One row per graduate: the survey platform loads a contact per graduate. EMAILS is the set of
addresses joined by "; " (sorted alphabetically: no address is first); PHONES the numbers in the
order to use them (mobiles first), each as ELEMENT:E164, joined by "; ".
"""

from __future__ import annotations

from collections.abc import Iterable

from core.csv import csv_response

FEED_HEADER = ["UKPRN", "HUSID", "NUMHUS", "GRADSTATUS", "EMAILS", "PHONES"]
CHANGES_HEADER = [
    "UKPRN",
    "HUSID",
    "NUMHUS",
    "CHANGE",
    "GRADSTATUS",
    "PREVIOUS_GRADSTATUS",
    "EMAILS_ADDED",
    "EMAILS_REMOVED",
    "PHONES_ADDED",
    "PHONES_REMOVED",
]


def _phones(phones: list[dict]) -> str:
    return "; ".join(f"{phone['element']}:{phone['e164']}" for phone in phones)


def feed_csv(graduates: Iterable, filename: str, generated_at: str):
    rows = ((g.ukprn, g.husid, g.numhus, g.gradstatus, "; ".join(g.emails), _phones(g.phones)) for g in graduates)
    response = csv_response(filename, FEED_HEADER, rows)
    response["X-Generated-At"] = generated_at
    return response


def changes_csv(changes: Iterable, filename: str, generated_at: str):
    rows = (
        (
            c.ukprn,
            c.husid,
            c.numhus,
            c.change,
            c.gradstatus,
            c.previous_gradstatus,
            "; ".join(c.emails_added),
            "; ".join(c.emails_removed),
            _phones(c.phones_added),
            _phones(c.phones_removed),
        )
        for c in changes
    )
    response = csv_response(filename, CHANGES_HEADER, rows)
    response["X-Generated-At"] = generated_at
    return response
