"""Bulk storage of parsed rows, as the parser produces them.

Two ways, behind one interface (RowSinks):
- streaming (PostgreSQL, outside any caller transaction): each table has its own connection
  and thread running COPY from a pipe, so the server stores rows while Python is still
  parsing. The COPY stays uncommitted until the file is known to be valid; a rejected file
  is rolled back, so nothing from it is ever visible.
- spooled (SQLite demo, or inside a caller's transaction, as in tests): rows go to temporary
  files in COPY text format and are inserted in batches once the file is known to be valid.

Either way loading is idempotent: the submission's rows are deleted in the same transaction
that stores the new ones, and ids are derived from the submission and file position, so a
re-run writes the very same rows.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from django.db import connection, transaction

logger = logging.getLogger(__name__)

BATCH = 5000
_UNESCAPES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


class _Rollback(Exception):
    pass


class StreamingCopy:
    """COPY into `table` on a connection of its own, fed through a pipe by `stream`."""

    def __init__(self, *, table: str, columns: tuple[str, ...], submission_id: int):
        self.table, self.columns, self.submission_id = table, columns, submission_id
        read_fd, write_fd = os.pipe()
        self._source = os.fdopen(read_fd, "rb")
        self.stream: TextIO = os.fdopen(write_fd, "w", encoding="utf-8", newline="\n", buffering=1 << 16)
        self._decided = threading.Event()
        self._commit = False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"copy-{table}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {self.table} WHERE submission_id = %s", [self.submission_id])
                try:
                    # `size` positionally: with DEBUG on, Django's CursorDebugWrapper.copy_expert
                    # takes (sql, file, *args) and refuses keywords.
                    cursor.copy_expert(
                        f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN", self._source, 1 << 16
                    )
                finally:
                    # If COPY stopped early, keep reading so the parser never blocks on a full pipe.
                    while self._source.read(1 << 16):
                        pass
                self._decided.wait()
                if not self._commit:
                    raise _Rollback
                # Fresh statistics, or the rules' joins are planned for an empty table.
                cursor.execute(f"ANALYZE {self.table}")
        except _Rollback:
            pass
        except BaseException as exc:  # reported to the caller by commit()
            self.error = exc
        finally:
            self._source.close()
            connection.close()

    def finish_writing(self) -> None:
        if not self.stream.closed:
            self.stream.close()

    def decide(self, *, commit: bool) -> None:
        with contextlib.suppress(OSError):  # the reading side is gone already
            self.finish_writing()
        self._commit = commit
        self._decided.set()

    def join(self) -> None:
        self._thread.join()
        if self.error and self._commit:
            raise self.error

    def commit(self) -> None:
        self.decide(commit=True)
        self.join()

    def abort(self) -> None:
        self.decide(commit=False)
        self.join()


class SpooledRows:
    """Rows spooled to a temporary file, stored on commit() in the current connection."""

    def __init__(self, *, table: str, columns: tuple[str, ...], submission_id: int, workdir=None):
        self.table, self.columns, self.submission_id = table, columns, submission_id
        fd, name = tempfile.mkstemp(prefix=f"sub{submission_id}-{table}-", suffix=".copy", dir=workdir)
        self.path = Path(name)
        self.stream: TextIO = open(fd, "w", encoding="utf-8", newline="\n", buffering=1 << 20)  # noqa: SIM115

    def finish_writing(self) -> None:
        if not self.stream.closed:
            self.stream.close()

    def commit(self) -> None:
        self.finish_writing()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {self.table} WHERE submission_id = %s", [self.submission_id])
            if connection.vendor == "postgresql":
                sql = f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"
                with open(self.path, encoding="utf-8") as handle:
                    cursor.copy_expert(sql, handle, 1 << 20)  # positionally, as above
                cursor.execute(f"ANALYZE {self.table}")
            else:
                placeholders = ", ".join(["%s"] * len(self.columns))
                sql = f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES ({placeholders})"
                for batch in _batches(self.path):
                    cursor.executemany(sql, batch)
        self.abort()

    def abort(self) -> None:
        self.finish_writing()
        self.path.unlink(missing_ok=True)


class RowSinks:
    """One sink per table; commit stores them all, abort throws them all away."""

    def __init__(self, *, submission_id: int, tables: dict[str, tuple[str, ...]], workdir=None):
        streaming = connection.vendor == "postgresql" and not connection.in_atomic_block
        self.streaming = streaming
        self._sinks = {
            table: StreamingCopy(table=table, columns=columns, submission_id=submission_id)
            if streaming
            else SpooledRows(table=table, columns=columns, submission_id=submission_id, workdir=workdir)
            for table, columns in tables.items()
        }
        self._open = True

    def stream(self, table: str) -> TextIO:
        return self._sinks[table].stream

    def finish_writing(self) -> None:
        for sink in self._sinks.values():
            sink.finish_writing()

    def commit(self) -> None:
        if self.streaming:
            # Each table commits its own transaction, in parallel. Should one fail, the
            # submission ends in `error`, and a retry replaces both tables' rows.
            for sink in self._sinks.values():
                sink.decide(commit=True)
            for sink in self._sinks.values():
                sink.join()
        else:
            with transaction.atomic():
                for sink in self._sinks.values():
                    sink.commit()
        self._open = False

    def abort(self) -> None:
        if self._open:
            self._open = False
            for sink in self._sinks.values():
                sink.abort()


def _batches(rows_file: Path) -> Iterator[list[list[str | None]]]:
    batch: list[list[str | None]] = []
    with open(rows_file, encoding="utf-8") as handle:
        for line in handle:
            values = line.rstrip("\n").split("\t")
            # Most values have no backslash at all: only the others go through _unescape.
            batch.append(values if "\\" not in line else [_unescape(v) if "\\" in v else v for v in values])
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
