"""CSV downloads, streamed row by row so a 100,000-row export never sits in memory.

Every CSV the portal serves goes through `csv_response`, which neutralises spreadsheet formulas:
names and other text come from uploaded files and users, and a cell such as
`=HYPERLINK("http://x","y")` would otherwise run when the file is opened in a spreadsheet.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

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


# Rows are sent in pieces of about this many characters: one socket write per row would be 100,000
# writes for a big list; a piece at a time keeps memory flat and the server's work per byte low.
CHUNK_CHARS = 64 * 1024


class _Echo:
    def write(self, value):
        return value


def _csv_stream(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text in pieces, reading `rows` as it goes (e.g. a queryset.iterator(), which on
    PostgreSQL reads through a server-side cursor)."""
    writer = csv.writer(_Echo())
    buffer = ["\ufeff", writer.writerow([csv_cell(value) for value in header])]  # a BOM: spreadsheets read UTF-8
    size = 0
    for row in rows:
        line = writer.writerow([csv_cell(value) for value in row])
        buffer.append(line)
        size += len(line)
        if size >= CHUNK_CHARS:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_stream(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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
