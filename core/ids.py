"""Ids as input. Every table's ids are positive 64-bit integers (bigint on PostgreSQL), so a number
outside 1..MAX_ID names nothing; worse, the database driver refuses it rather than finding nothing
(SQLite: OverflowError; PostgreSQL: an out-of-range error), so input ids are checked here first."""

from __future__ import annotations

from rest_framework import serializers

MAX_ID = 2**63 - 1
ID_RANGE = f"a whole number from 1 to {MAX_ID}"


def id_from(value) -> int | None:
    """`value` (form or query text) as an id, or None if it is not one (not an ASCII whole number,
    or outside 1..MAX_ID)."""
    text = str(value).strip() if value is not None else ""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def is_id(value) -> bool:
    """An int within 1..MAX_ID (what a service taking ids from any caller checks)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


class IdField(serializers.IntegerField):
    """An object's id in a request body: 400 with a sentence for anything outside 1..MAX_ID."""

    def __init__(self, **kwargs):
        message = f"An id is {ID_RANGE}."
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        kwargs["error_messages"] = {"min_value": message, "max_value": message, **kwargs.get("error_messages", {})}
        super().__init__(**kwargs)
