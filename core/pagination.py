"""Keyset (seek) pages of long lists: a page at row 100,000 reads about what one at row 1 does.

A queryset ordered by a key tuple that ends with a unique tiebreaker (`id`) is paged by the key of
the last row shown (`after`) or the first (`before`), encoded in the URL, instead of by OFFSET:
the database walks an index from that key. A jump to page N (or the first or last) reads only
the ids up to that position, from whichever end is nearer, in a subquery (index-only where an
index matches the order). The total is counted once, or passed in when the caller already knows
it (e.g. from the per-rule counts stored by the pipeline).

A cursor page's place in the list (its number, "rows N-M", whether there is a previous or next
page) is counted, not taken from the `page` its link names: a link may be edited or forged, and
a wrong number would hide rows behind a missing "Next". The count of the rows before it reads the
same index, from the end the link's `page` says is nearer, so at most half the list.

A cursor is data from the URL: its values are converted to the types of the ordering fields, and
one that does not fit them (wrong type, length or range, an impossible date) is ignored.

The page object answers what Django's `Page` does (number, paginator.count, num_pages,
start_index, has_next, ...) so templates keep showing "rows 14,951-15,000 of 22,572".
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, FieldError, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

INT64 = (-(2**63), 2**63 - 1)  # what SQLite and PostgreSQL's bigint hold; sqlite3 cannot even send more
# What converting a forged value may raise: every one of them means "not a cursor of this list".
_NOT_A_KEY = (ValidationError, TypeError, ValueError, OverflowError, ArithmeticError)


class _CursorEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder cuts times to milliseconds (as JavaScript does); a key keeps every digit, or
    the rows stamped within the cursor's millisecond would repeat on the next page or be skipped."""

    def default(self, o):
        if isinstance(o, (datetime.datetime, datetime.time)):
            return o.isoformat()
        return super().default(o)


def encode_cursor(values: Sequence) -> str:
    raw = json.dumps(list(values), cls=_CursorEncoder, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, length: int) -> list | None:
    """The key values of a cursor, or None for a missing or malformed one (then the page number rules).
    Only its shape is checked here; KeysetPaginator converts the values to its keys' types."""
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, RecursionError):  # RecursionError: "[[[[...", nested too deep
        return None
    if not isinstance(values, list) or len(values) != length:
        return None
    if any(isinstance(v, (list, dict)) for v in values):
        return None
    return values


def _database_text(value: str) -> str:
    # PostgreSQL refuses NUL in text, and a lone surrogate cannot be sent as UTF-8 to either database.
    if "\x00" in value:
        raise ValueError("NUL in a cursor")
    value.encode("utf-8")  # UnicodeEncodeError is a ValueError
    return value


def _key_value(key_field, value, connection):
    """`value` as the Python value of `key_field` (None: a key of unknown type, so scalars only),
    ready to be sent to the database; raises one of _NOT_A_KEY when it cannot be one."""
    if isinstance(value, str):
        _database_text(value)
    if isinstance(key_field, models.DateTimeField):
        # Not to_python: it would take a bare date, or a time without offset, as local time with a
        # warning. A cursor holds the aware time the database returned.
        if not isinstance(value, str):
            raise TypeError("a time is written as text")
        value = parse_datetime(value)  # ValueError for an impossible date
        if value is None or timezone.is_aware(value) != settings.USE_TZ:
            raise ValueError("not a time of this database")
        if settings.USE_TZ:
            value.astimezone(datetime.UTC)  # OverflowError past year 9999 or before year 1 in UTC
        return value
    if key_field is not None:
        value = key_field.to_python(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        low, high = INT64
        if isinstance(key_field, models.IntegerField):  # the AutoFields too
            try:
                column = connection.ops.integer_field_range(key_field.get_internal_type())
            except KeyError:
                column = (None, None)
            low = low if column[0] is None else max(low, column[0])
            high = high if column[1] is None else min(high, column[1])
        if not low <= value <= high:
            raise OverflowError("beyond the column's integers")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return value
    if isinstance(value, decimal.Decimal):
        # PostgreSQL's numeric refuses exponents far out; no row holds more whole digits than its column.
        if not value.is_finite() or abs(value.as_tuple().exponent) > 1000 or value.adjusted() > 1000:
            raise ValueError("not a number of this database")
        max_digits = getattr(key_field, "max_digits", None)
        if max_digits is not None and abs(value) >= decimal.Decimal(10) ** (
            max_digits - (key_field.decimal_places or 0)
        ):
            raise ValueError("beyond the column's numbers")
        return value
    if isinstance(value, str):
        return _database_text(value)
    if key_field is None:
        raise TypeError("not a scalar")
    return value


def _flip(key: str) -> str:
    return key[1:] if key.startswith("-") else f"-{key}"


def _to_int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class KeysetPaginator:
    """Pages of `queryset`, ordered (order_by, else the model's ordering) by fields or annotations; `id`
    is added as the last key when the order does not end with it, so every row has a unique key."""

    def __init__(self, queryset: QuerySet, per_page: int, *, count: int | None = None, base: QuerySet | None = None):
        """`base`: the same rows without the joins and annotations only shown (e.g. the student's name
        of an instance), for the id subquery of a page jump, which then reads one index alone."""
        ordering = queryset.query.order_by or (queryset.query.default_ordering and queryset.model._meta.ordering) or []
        keys = [k for k in ordering if isinstance(k, str)]
        if len(keys) != len(ordering) or any(k.startswith("?") for k in keys):
            raise ValueError("a keyset page needs an order_by of field or annotation names")
        if not keys or keys[-1].lstrip("-") not in ("id", "pk"):
            keys.append("-id" if keys and keys[-1].startswith("-") else "id")  # a unique tiebreaker
        self.queryset = queryset.order_by(*keys)
        self.base = self.queryset if base is None else base.order_by(*keys)
        self.keys = keys
        self.per_page = per_page
        self._count = count

    @cached_property
    def count(self) -> int:
        return self._count if self._count is not None else self.queryset.count()

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.count / self.per_page))

    @property
    def page_range(self):
        return range(1, self.num_pages + 1)

    # Reading a page. -----------------------------------------------------------------------------

    def get_page(self, number=None, *, after: str | None = None, before: str | None = None) -> KeysetPage:
        """The page `number` ("last" for the last), or the page after/before a cursor. A cursor page is
        numbered by its place in the list; `number` only says from which end to count that place.
        A malformed cursor, or one with no rows beyond it, is ignored: then `number` rules."""
        if number == "last":
            number = self.num_pages
        number = min(max(_to_int(number, 1), 1), self.num_pages)
        rows = None
        after_key = self._typed(decode_cursor(after, len(self.keys)))
        before_key = self._typed(decode_cursor(before, len(self.keys))) if after_key is None else None
        if after_key is not None:
            rows = list(self.queryset.filter(self._seek(after_key, forward=True))[: self.per_page])
        elif before_key is not None:
            backwards = self.queryset.filter(self._seek(before_key, forward=False)).order_by(*map(_flip, self.keys))
            rows = list(backwards[: self.per_page])[::-1]
        if rows:
            offset = self._offset_of(rows, number, reached_start=before_key is not None)
            return KeysetPage(rows, offset // self.per_page + 1, self, offset=offset)
        return KeysetPage(self._rows_at(number), number, self)

    def _offset_of(self, rows: list, number: int, *, reached_start: bool) -> int:
        """How many rows come before `rows` (a cursor page): one COUNT, from the end nearer the page
        `number` the link claims (right for the page's own links, so at most half the list is read)."""
        if reached_start and len(rows) < self.per_page:
            return 0  # a short page before a cursor: nothing before it
        if not reached_start and len(rows) < self.per_page:
            return max(0, self.count - len(rows))  # a short page after a cursor: the end of the list
        if (number - 1) * self.per_page <= self.count // 2:
            return self.base.filter(self._seek(self.key_of(rows[0]), forward=False)).count()
        later = self.base.filter(self._seek(self.key_of(rows[-1]), forward=True)).count()
        return max(0, self.count - len(rows) - later)

    def page_of_position(self, position: int) -> KeysetPage:
        """The page holding the row at 0-based `position` (e.g. the first HUSID at or after a value)."""
        return self.get_page(position // self.per_page + 1)

    def _rows_at(self, number: int) -> list:
        offset = (number - 1) * self.per_page
        size = max(0, min(self.per_page, self.count - offset))
        if size == 0:
            return []
        if number == 1:
            return list(self.queryset[: self.per_page])
        if offset + size >= self.count:
            # The last page: read backwards from the end, no offset at all.
            return list(self.queryset.order_by(*map(_flip, self.keys))[:size])[::-1]
        if offset <= self.count // 2:
            ids = self.base.values("pk")[offset : offset + size]
        else:
            from_end = self.count - offset - size
            ids = self.base.order_by(*map(_flip, self.keys)).values("pk")[from_end : from_end + size]
        return list(self.queryset.filter(pk__in=ids))

    # The seek condition. -------------------------------------------------------------------------

    def _key_field(self, name: str):
        """The model field (or an annotation's output field) a key orders by; None when unknown."""
        annotation = self.queryset.query.annotations.get(name)
        if annotation is not None:
            try:
                return annotation.output_field
            except FieldError:  # mixed types: left to the checks of any scalar
                return None
        model = self.queryset.model
        parts = name.split("__")
        try:
            for part in parts[:-1]:
                model = model._meta.get_field(part).related_model
            key_field = model._meta.pk if parts[-1] == "pk" else model._meta.get_field(parts[-1])
        except (FieldDoesNotExist, AttributeError):
            return None
        while getattr(key_field, "target_field", None) is not None and key_field.concrete:
            key_field = key_field.target_field  # a foreign key holds its target's values
        return key_field if key_field.concrete else None

    def _typed(self, values: list | None) -> list | None:
        """A cursor's values as its keys' Python values (so a forged one cannot fail the query: "a" for
        an integer, 2020-13-45 for a date, an integer beyond 64 bits), or None when one is not: then
        the cursor is malformed and the page number rules. NULL only where the key can be NULL."""
        if values is None:
            return None
        connection = connections[self.queryset.db]
        typed = []
        for key, value in zip(self.keys, values, strict=True):
            name = key.lstrip("-")
            if value is not None:
                try:
                    value = _key_value(self._key_field(name), value, connection)
                except _NOT_A_KEY:
                    return None
            if value is None and not self._nullable(name):
                return None
            typed.append(value)
        return typed

    def _nullable(self, name: str) -> bool:
        """Whether a key can be NULL; an annotation (not a model field) must not be."""
        model = self.queryset.model
        parts = name.split("__")
        through_nullable = False  # a nullable foreign key on the way: an outer join, so NULL too
        try:
            for part in parts[:-1]:
                relation = model._meta.get_field(part)
                through_nullable = through_nullable or relation.null
                model = relation.related_model
            field_ = model._meta.get_field("id" if parts[-1] == "pk" else parts[-1])
        except (FieldDoesNotExist, AttributeError):
            return False
        return through_nullable or bool(field_.null)

    def _after(self, name: str, value, desc: bool) -> Q:
        """Rows strictly after `value` on one key, in the order's direction (NULLs where the database puts them)."""
        nullable = self._nullable(name)
        nulls_after = nullable and (connections[self.queryset.db].features.nulls_order_largest != desc)
        if value is None:
            return Q(pk__in=[]) if nulls_after else Q(**{f"{name}__isnull": False})
        condition = Q(**{f"{name}__{'lt' if desc else 'gt'}": value})
        return condition | Q(**{f"{name}__isnull": True}) if nulls_after else condition

    def _seek(self, values: list, *, forward: bool) -> Q:
        """(k1, k2, ...) after the cursor (forward) or before it, as (k1 > v1) OR (k1 = v1 AND k2 > v2) ..."""
        keys = self.keys if forward else [_flip(k) for k in self.keys]
        terms = Q(pk__in=[])
        equal = Q()
        for key, value in zip(keys, values, strict=True):
            name, desc = key.lstrip("-"), key.startswith("-")
            terms |= equal & self._after(name, value, desc)
            equal &= Q(**{f"{name}__isnull": True}) if value is None else Q(**{name: value})
        first_name, first_desc = keys[0].lstrip("-"), keys[0].startswith("-")
        if values[0] is not None and not self._nullable(first_name):
            # A range on the leading key, so an index on it is scanned from the cursor on.
            terms &= Q(**{f"{first_name}__{'lte' if first_desc else 'gte'}": values[0]})
        return terms

    def key_of(self, row) -> list:
        values = []
        for key in self.keys:
            value = row
            for part in key.lstrip("-").split("__"):
                value = None if value is None else getattr(value, part)
            values.append(value)
        return values


@dataclass
class KeysetPage:
    object_list: list
    number: int
    paginator: KeysetPaginator
    _cursors: dict = field(default_factory=dict, repr=False)
    # How many rows come before the page: (number - 1) * per_page, unless a cursor put it elsewhere.
    offset: int | None = None

    def __post_init__(self):
        if self.offset is None:
            self.offset = (self.number - 1) * self.paginator.per_page

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def __getitem__(self, index):
        return self.object_list[index]

    # From the rows' own place, so the links of a cursor page go on from its rows and back to the first.

    def has_next(self) -> bool:
        return bool(self.object_list) and self.offset + len(self.object_list) < self.paginator.count

    def has_previous(self) -> bool:
        return self.offset > 0

    def has_other_pages(self) -> bool:
        return self.paginator.num_pages > 1

    def next_page_number(self) -> int:
        """The page holding the row after this page."""
        return (self.offset + len(self.object_list)) // self.paginator.per_page + 1

    def previous_page_number(self) -> int:
        """The page holding the row before this page; 1 when the rows before fit on the first page
        (then the link is to page 1 itself, without a cursor)."""
        return max(1, (self.offset - 1) // self.paginator.per_page + 1)

    def start_index(self) -> int:
        if not self.object_list:
            return 0
        return self.offset + 1

    def end_index(self) -> int:
        return self.start_index() + len(self.object_list) - 1 if self.object_list else 0

    @property
    def next_cursor(self) -> str:
        return encode_cursor(self.paginator.key_of(self.object_list[-1])) if self.object_list else ""

    @property
    def previous_cursor(self) -> str:
        return encode_cursor(self.paginator.key_of(self.object_list[0])) if self.object_list else ""

    @property
    def next_query(self) -> str:
        """The URL parameters of the next page: the seek cursor, and its number (which end to count its place from)."""
        return f"page={self.next_page_number()}&after={self.next_cursor}"

    @property
    def previous_query(self) -> str:
        if self.previous_page_number() == 1:
            return "page=1"
        return f"page={self.previous_page_number()}&before={self.previous_cursor}"


def keyset_page(
    queryset: QuerySet, request, per_page: int, *, count: int | None = None, base: QuerySet | None = None
) -> KeysetPage:
    """The page a screen's request asks for: ?page=N|last, with ?after= or ?before= from the page links."""
    return KeysetPaginator(queryset, per_page, count=count, base=base).get_page(
        request.GET.get("page"), after=request.GET.get("after"), before=request.GET.get("before")
    )
