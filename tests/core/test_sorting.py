"""core.sorting.resolve_sort: the one `?sort=` parser of every sortable table."""

import pytest

from core.sorting import resolve_sort

SORTS = {"name": ("name", "id"), "requested": ("-requested_at", "id")}


@pytest.mark.parametrize(
    ("sort", "fields", "effective"),
    [
        ("name", ["name", "id"], "name"),
        ("-name", ["-name", "-id"], "-name"),
        ("-requested", ["requested_at", "-id"], "-requested"),  # a descending field reversed
        ("", ["-requested_at", "id"], "requested"),
        ("password", ["-requested_at", "id"], "requested"),  # not whitelisted: the default
        ("-", ["-requested_at", "id"], "requested"),
    ],
)
def test_keys_and_reversal(sort, fields, effective):
    assert resolve_sort(sort, allowed=SORTS, default="requested") == (fields, effective)


def test_a_table_prefix_keeps_one_tables_sort_from_another():
    assert resolve_sort("-users.name", allowed=SORTS, default="users.requested", table="users") == (
        ["-name", "-id"],
        "-users.name",
    )
    # Another table's key on the same page: this table keeps its default.
    assert resolve_sort("providers.name", allowed=SORTS, default="users.name", table="users") == (
        ["name", "id"],
        "users.name",
    )


def test_a_default_outside_the_whitelist_is_a_programming_error():
    with pytest.raises(ValueError, match="default sort"):
        resolve_sort("", allowed=SORTS, default="nope")
