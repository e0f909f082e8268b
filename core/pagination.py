"""Keyset (seek) pages of long lists: as fast at row 100,000 as at row 1.

A queryset ordered by a key tuple that ends with a unique tiebreaker (`id`) is paged by the key of
the last row shown (`after`) or the first (`before`), encoded in the URL, instead of by OFFSET:
the database walks an index from that key. A jump to page N (or the first or last) reads only
the ids up to that position, from whichever end is nearer, in a subquery (index-only where an
index matches the order). The total is counted once, or passed in when the caller already knows
it (e.g. from the per-rule counts stored by the pipeline).

The page object answers what Django's `Page` does (number, paginator.count, num_pages,
start_index, has_next, ...) so templates keep showing "rows 14,951-15,000 of 22,572".
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.db.models import Q, QuerySet


def encode_cursor(values: Sequence) -> str:
    raw = json.dumps(list(values), cls=DjangoJSONEncoder, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, length: int) -> list | None:
    """The key values of a cursor, or None for a missing or malformed one (then the page number rules)."""
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        return None
    if not isinstance(values, list) or len(values) != length:
        return None
    if any(isinstance(v, (list, dict)) for v in values):
        return None
    return values


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
        """The page `number` ("last" for the last), or the page after/before a cursor (numbered `number`)."""
        if number == "last":
            number = self.num_pages
        number = min(max(_to_int(number, 1), 1), self.num_pages)
        after_key = decode_cursor(after, len(self.keys))
        before_key = decode_cursor(before, len(self.keys)) if after_key is None else None
        if after_key is not None:
            rows = list(self.queryset.filter(self._seek(after_key, forward=True))[: self.per_page])
        elif before_key is not None:
            backwards = self.queryset.filter(self._seek(before_key, forward=False)).order_by(*map(_flip, self.keys))
            rows = list(backwards[: self.per_page])[::-1]
        else:
            rows = self._rows_at(number)
        return KeysetPage(rows, number, self)

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

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def __getitem__(self, index):
        return self.object_list[index]

    def has_next(self) -> bool:
        return self.number < self.paginator.num_pages and bool(self.object_list)

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.paginator.num_pages > 1

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def start_index(self) -> int:
        if not self.object_list:
            return 0
        return (self.number - 1) * self.paginator.per_page + 1

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
        """The URL parameters of the next page: its number (for "rows N-M") and the seek cursor."""
        return f"page={self.number + 1}&after={self.next_cursor}"

    @property
    def previous_query(self) -> str:
        if self.number == 2:
            return "page=1"
        return f"page={self.number - 1}&before={self.previous_cursor}"


def keyset_page(
    queryset: QuerySet, request, per_page: int, *, count: int | None = None, base: QuerySet | None = None
) -> KeysetPage:
    """The page a screen's request asks for: ?page=N|last, with ?after= or ?before= from the page links."""
    return KeysetPaginator(queryset, per_page, count=count, base=base).get_page(
        request.GET.get("page"), after=request.GET.get("after"), before=request.GET.get("before")
    )
