"""What every record kind's streaming parser shares: its outcome, progress reporting, and the
COPY text format its rows are written in (see load.RowSinks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .locate import LocatedError

NULL = r"\N"
# COPY text format: backslash, tab, newline and carriage return must be escaped. Only free-text
# fields can hold them; a kind's XSD restricts the others to digits, letters and dates.
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

ProgressCallback = Callable[[int, int], None]  # (bytes read, total bytes)


@dataclass
class ParseOutcome:
    """What one pass over a file found. `records` counts the kind's main records (what "Storing N
    instances" counts); `submission_fields` are stored on the submission row once the file is
    valid (counts, header values)."""

    header: dict[str, str] = field(default_factory=dict)
    header_lines: dict[str, int] = field(default_factory=dict)
    records: int = 0
    submission_fields: dict[str, object] = field(default_factory=dict)
    errors: list[LocatedError] = field(default_factory=list)
    total_error_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


class ProgressReader:
    """File wrapper that reports how far lxml has read, at most every `step` bytes.

    `trailer` is returned with the file's last chunk, in the same read: lxml starts a new
    document when a feed follows one whose error it swallowed, so a trailer fed on its own
    could parse fine whatever came before it."""

    def __init__(self, raw, total: int, callback: ProgressCallback | None, step: int = 1 << 20, trailer: bytes = b""):
        self._raw, self._total, self._callback, self._step = raw, total, callback, step
        self._trailer = trailer
        self._read = self._next_report = 0
        self._next: bytes | None = None
        self.chunks = 0  # handed to lxml so far

    def read(self, size=-1):
        chunk = self._raw.read(size) if self._next is None else self._next
        self._next = self._raw.read(size) if chunk else b""
        self._read += len(chunk)
        self.chunks += 1
        if self._callback and self._read >= self._next_report:
            self._next_report = self._read + self._step
            self._callback(self._read, self._total)
        if not self._next and self._trailer:
            chunk, self._trailer = chunk + self._trailer, b""
        return chunk
