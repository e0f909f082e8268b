"""Bulk storage of parsed rows: PostgreSQL COPY, or batched executemany elsewhere (SQLite demo).

Loading is idempotent: a submission's rows are deleted before they are written, and the ids
are derived from the submission and file position, so a re-run writes the very same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.db import connection, transaction

BATCH = 5000
_UNESCAPES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


def copy_rows(table: str, columns: tuple[str, ...], rows_file: Path) -> None:
    """Append the rows of a COPY-text-format file to `table`."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, open(rows_file, encoding="utf-8") as handle:
            cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", handle, size=1 << 20)
        return
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    with connection.cursor() as cursor:
        for batch in _batches(rows_file):
            cursor.executemany(sql, batch)


def replace_rows(*, submission_id: int, tables: list[tuple[str, tuple[str, ...], Path]]) -> None:
    """Replace the submission's rows in each table with the rows in its file.

    On PostgreSQL each table loads on its own connection, in parallel: the server does the
    COPY work, so two tables take little longer than one. Inside a caller's transaction (or on
    SQLite, which has one writer) the tables load one after another on this connection.
    """
    if connection.vendor == "postgresql" and not connection.in_atomic_block and len(tables) > 1:
        with ThreadPoolExecutor(max_workers=len(tables)) as pool:
            for future in [pool.submit(_replace_table_in_thread, submission_id, *t) for t in tables]:
                future.result()
        return
    with transaction.atomic():
        for table in tables:
            _replace_table(submission_id, *table)


def _replace_table(submission_id: int, table: str, columns: tuple[str, ...], path: Path) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE submission_id = %s", [submission_id])
    copy_rows(table, columns, path)
    if connection.vendor == "postgresql":
        # Fresh statistics, or the rules' joins get planned for an empty table (minutes, not ms).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")


def _replace_table_in_thread(submission_id: int, table: str, columns: tuple[str, ...], path: Path) -> None:
    try:
        with transaction.atomic():
            _replace_table(submission_id, table, columns, path)
    finally:
        connection.close()  # this thread's own connection


def _batches(rows_file: Path) -> Iterator[list[list[str | None]]]:
    batch: list[list[str | None]] = []
    with open(rows_file, encoding="utf-8") as handle:
        for line in handle:
            batch.append([_unescape(value) for value in line.rstrip("\n").split("\t")])
            if len(batch) >= BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _unescape(value: str) -> str | None:
    if value == r"\N":
        return None
    if "\\" not in value:
        return value
    out, i = [], 0
    while i < len(value):
        pair = value[i : i + 2]
        if pair in _UNESCAPES:
            out.append(_UNESCAPES[pair])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)
