"""CSV downloads, streamed row by row so a 100,000-row export never sits in memory.

Every CSV the portal serves goes through `csv_response`, which neutralises spreadsheet formulas:
names and other text come from uploaded files and users, and a cell such as
`=HYPERLINK("http://x","y")` would otherwise run when the file is opened in a spreadsheet.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path

from django.http import FileResponse, StreamingHttpResponse

logger = logging.getLogger(__name__)

# OWASP's CSV injection rule: a cell starting with one of these is read as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A value as a safe CSV cell: None is empty, text that a spreadsheet would take as a formula gets a
    leading single quote (shown as text, not evaluated). Only text: a number such as -2 stays a number."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


# Rows are sent in pieces of this many rows: one socket write per row would be 100,000 writes for a
# big list; a piece at a time keeps memory flat and the server's work per byte low. A piece is small
# enough that writing it holds the GIL for about a millisecond, and the stream yields the GIL after
# each one (time.sleep(0)): pages served by the same gunicorn process wait for the GIL after each of
# their queries, up to ten milliseconds each time with 2,000-row pieces while a download ran. In
# bench web the p95 a download added was +16..+81 ms with 2,000-row pieces and -36..+82 ms with
# these (three runs each): no clear gain within the machine's noise, but the download now gives way
# to pages (2-4 s instead of 1.4-2 s for the Target List while pages are served).
CHUNK_ROWS = 250

# Where a cell begins (after a line break or a comma, maybe after the opening quote) with a formula
# character; a piece is searched with a line break put in front, for its first cell. A piece without
# any such place needs no neutralising; one with a match (a formula, or only a negative number or a
# comma inside a value) is written again cell by cell through csv_cell. The common case stays in the
# csv module's C code, so a download holds a web worker's CPU (and the pages queued behind it) less.
_CELL_START_FORMULA = re.compile(r'[,\n]"?[=+\-@\t\r]')


def _csv_stream(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text in pieces, reading `rows` as it goes (e.g. a queryset.iterator(), which on
    PostgreSQL reads through a server-side cursor)."""
    lines: list[str] = []
    writer = csv.writer(_Collect(lines))
    writer.writerow([csv_cell(value) for value in header])
    head = "\ufeff" + lines.pop()  # a BOM: spreadsheets read UTF-8
    rows = iter(rows)
    while chunk := list(islice(rows, CHUNK_ROWS)):
        # NULL as an empty cell, as csv_cell does, is the writer's own rule too (None -> "").
        writer.writerows(chunk)
        text = "".join(lines)
        lines.clear()
        if _CELL_START_FORMULA.search("\n" + text):
            writer.writerows([csv_cell(value) for value in row] for row in chunk)
            text = "".join(lines)
            lines.clear()
        yield head + text
        head = ""
        time.sleep(0)
    if head:
        yield head


class _Collect:
    def __init__(self, lines: list[str]):
        self.write = lines.append


CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    return _streamed(filename, _csv_stream(header, rows))


def _streamed(filename: str, pieces: Iterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(pieces, content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_kept_response(
    path: Path, filename: str, header: list[str], rows: Callable[[], Iterable[Iterable]]
) -> StreamingHttpResponse | FileResponse:
    """A CSV whose rows can no longer change, served from the file at `path` once it is there.

    The first download streams as `csv_response` does (calling `rows()`) and writes the same bytes
    to a private temporary file beside `path`, which becomes `path` only once the last row is sent:
    a download cut short, or two first downloads at once, never leave a partial file there. Later
    downloads are a FileResponse of that file, which gunicorn sends with sendfile(2): no query,
    no Python per row, so a long download no longer takes CPU (and the GIL) from pages."""
    try:
        kept = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    except OSError:  # not kept yet (or unreadable): write it now
        return _streamed(filename, _kept_while_sent(_csv_stream(header, rows()), path))
    return FileResponse(kept, as_attachment=True, filename=filename, content_type=CSV_CONTENT_TYPE)


def _kept_while_sent(pieces: Iterator[str], path: Path) -> Iterator[str]:
    """`pieces` as they come, written to a part file that becomes `path` after the last one. When
    the file cannot be written (no folder, a full disk) the download goes on, only not kept."""
    part = out = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, part = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")  # mode 0600
        out = os.fdopen(handle, "w", encoding="utf-8", newline="")
    except OSError as error:
        logger.warning("CSV not kept at %s: %s", path, error)
    try:
        for piece in pieces:
            if out is not None:
                try:
                    out.write(piece)
                except OSError as error:
                    logger.warning("CSV not kept at %s: %s", path, error)
                    out = _closed(out)
            yield piece
        if out is not None:
            try:
                out.close()  # its last write
                os.replace(part, path)
            except OSError as error:
                logger.warning("CSV not kept at %s: %s", path, error)
    finally:  # also when the client goes away (the server closes the generator) or a query fails
        _closed(out)
        if part is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(part)


def _closed(out) -> None:
    if out is not None:
        with contextlib.suppress(OSError):  # what it still held cannot be written either
            out.close()


def csv_write(path, header: list[str], rows: Iterable[Iterable]) -> int:
    """The same CSV as `csv_response` serves, byte for byte, written to a file instead (the
    offline validation kit). Returns how many rows were written."""
    written = 0

    def counted():
        nonlocal written
        for row in rows:
            written += 1
            yield row

    with open(path, "w", encoding="utf-8", newline="") as out:
        out.writelines(_csv_stream(header, counted()))
    return written
