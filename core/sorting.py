"""`?sort=` parameters turned into order_by fields: the one parser every sortable table uses."""

from __future__ import annotations


def resolve_sort(
    sort: str, *, allowed: dict[str, tuple[str, ...]], default: str, table: str = ""
) -> tuple[list[str], str]:
    """`key` or `-key` (reversed) as order_by fields from `allowed`, and the sort in effect.

    With `table` (pages with several sortable tables) keys are written "table.key", so one
    table's sort leaves the others alone. An unknown or foreign key sorts by `default`; the
    effective value comes back so headers can show the order in use.
    """
    fields = _fields(sort, allowed=allowed, table=table)
    if fields is None:
        sort, fields = default, _fields(default, allowed=allowed, table=table)
    if fields is None:
        raise ValueError(f"default sort {default!r} is not one of {sorted(allowed)}")
    return fields, sort


def _fields(sort: str, *, allowed: dict[str, tuple[str, ...]], table: str) -> list[str] | None:
    key = sort.removeprefix("-")
    if table:
        if not key.startswith(f"{table}."):
            return None
        key = key.removeprefix(f"{table}.")
    if key not in allowed:
        return None
    if sort.startswith("-"):
        return [f.removeprefix("-") if f.startswith("-") else f"-{f}" for f in allowed[key]]
    return list(allowed[key])
