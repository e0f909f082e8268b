"""What every record kind's streaming parser shares: the one streaming pass with its defences
against truncated and hostile files (stream_records), its outcome, progress reporting, and the
COPY text format its rows are written in (see load.RowSinks). A kind's parser gives only its
RecordFormat and what to do with each record element."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .locate import LocatedError, find_errors, locate_errors
from .xmlsafe import SAFE_PARSE_OPTIONS, encoding_problem, load_schema

NULL = r"\N"
# COPY text format: backslash, tab, newline and carriage return must be escaped. Only free-text
# fields can hold them; a kind's XSD restricts the others to digits, letters and dates.
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

# progress(bytes read, total bytes[, records]): `records` is (how many record elements so far, what
# to call them), e.g. (1200, "students"), from a kind's streaming pass (stream_records).
ProgressCallback = Callable[..., None]


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


# --- The streaming pass every kind's parser runs (see stream_records) -------------------------

END_MARK = "portal-end-of-file"
_PARSE_OPTIONS = {**SAFE_PARSE_OPTIONS, "remove_pis": False}  # the end marker is a PI
# PIs are kept as nodes (lxml would crash collecting PI events without them), and those after
# the last record are not dropped, so a file of nothing else would fill memory: cap them.
MAX_PIS = 1000


@dataclass(frozen=True)
class RecordFormat:
    """What the streaming pass needs to know about a kind's file.

    `record_tag` is the repeated record element (a global element in the XSD, so the locate pass
    can validate one on its own); `header_tags` are the envelope fields kept in
    ParseOutcome.header; `label` names the kind in messages ("Student record"); `other_roots`
    maps other returns' root elements to what to call such a file ("a Student record file");
    `key_tags` are the record's children that identify it beside each of its schema errors
    ("HUSID 9811681234562, OWNSTU S1")."""

    schema_file: Path
    root_tag: str
    record_tag: str
    header_tags: tuple[str, ...]
    label: str
    other_roots: dict[str, str] = field(default_factory=dict)
    key_tags: tuple[str, ...] = ()
    records_name: str = "records"  # what the progress message calls record elements: "students"


def stream_records(
    path: str | os.PathLike,
    fmt: RecordFormat,
    *,
    on_record: Callable[[etree._Element], None],
    progress: ProgressCallback | None = None,
    error_cap: int = 1000,
) -> ParseOutcome:
    """Validate `path` against the kind's XSD in one streaming pass, handing each complete
    record element to `on_record` (which writes its rows); on invalid input, locate the errors.

    The caller fills `records` and `submission_fields` of the outcome. Rows `on_record` wrote
    must be thrown away when the outcome has errors (see load.RowSinks).

    With a schema attached, lxml does not see libxml2's well-formedness errors (see locate.py):
    a fatal error just stops the events, and a file cut short after a complete element parses
    "successfully"; after such an error lxml even starts a new document with the next chunk. So
    the pass checks what it can see instead: the root element's end tag arrived, in the document
    the first element belonged to, and a processing instruction with a fresh random token, fed
    with the file's last chunk, came back as the very last event. A fatal error, the file ending
    before its root closes, or anything but comments and PIs after the root (an unterminated
    comment or PI swallows the marker) each break one of them. A new document started after an
    error that came before any element is the one case those checks cannot see, and it can only
    begin after the first chunk: a file whose first element comes that late (a 32 KB prolog) is
    checked by the second pass even when the fast one accepted it.
    """
    schema = load_schema(fmt.schema_file)
    locate = {"root_tag": fmt.root_tag, "record_tag": fmt.record_tag, "label": fmt.label, "key_tags": fmt.key_tags}
    # libxml2 keeps a per-thread error log; an earlier file's errors must not leak into this one.
    etree.clear_error_log()
    outcome = ParseOutcome()
    total = os.path.getsize(path)
    token = secrets.token_hex(8)
    root_tag, record_tag = fmt.root_tag, fmt.record_tag
    with open(path, "rb") as raw:
        problem = encoding_problem(raw.read(1024))
        if problem:
            outcome.errors.append(LocatedError(line=1, path="", message=problem))
            outcome.total_error_count = 1
            return outcome
        raw.seek(0)
        records_seen = 0

        def report(read: int, of: int) -> None:  # the progress bar also says how many records, how fast
            progress(read, of, (records_seen, fmt.records_name))

        reader = ProgressReader(raw, total, report if progress else None, trailer=f"<?{END_MARK} {token}?>".encode())
        context = etree.iterparse(
            reader,
            events=("end", "pi"),
            tag=(record_tag, *fmt.header_tags, root_tag, etree.PI),
            schema=schema,
            **_PARSE_OPTIONS,
        )
        first_root = None
        root_closed = marker_last = pis_inside = late_start = False
        pis = 0
        failure: etree.XMLSyntaxError | None = None
        try:
            for event, element in context:
                if event == "pi":
                    # Ours comes last or not at all; any of the file's own are ignored.
                    marker_last = element.target == END_MARK and element.text == token
                    if marker_last:
                        continue
                    pis += 1
                    if pis > MAX_PIS:
                        outcome.errors.append(_too_many_pis(element, fmt))
                        break
                    if element.getparent() is not None:
                        pis_inside = True  # in the data: the text around it is split
                    continue
                marker_last = False
                if first_root is None:
                    # After an error lxml swallowed, the next chunk starts a new document, which
                    # the checks below cannot tell from the first if the first gave no element.
                    late_start = reader.chunks > 1
                    first_root = element.getroottree().getroot()
                    prolog_error = _check_prolog(path, first_root, fmt)
                    if prolog_error:
                        outcome.errors.append(prolog_error)
                        break
                if pis_inside:
                    _drop_pis(element)
                    pis_inside = False
                tag = element.tag
                if tag == record_tag:
                    on_record(element)
                    records_seen += 1
                    # Drop what we have read: the element and the siblings before it.
                    element.clear(keep_tail=False)
                    parent = element.getparent()
                    while element.getprevious() is not None:
                        del parent[0]
                elif tag == root_tag:
                    root_closed = element is first_root
                else:
                    outcome.header[tag] = element.text or ""
                    outcome.header_lines[tag] = element.sourceline or 0
        except etree.XMLSyntaxError as exc:
            failure = exc
        # The whole file was read, as one document: its root closed, and nothing but comments
        # and PIs followed (lxml starts a new document after an error it swallowed).
        complete = root_closed and marker_last and context.root is first_root
        if complete and late_start and not outcome.errors:
            # Its first record came after the first chunk (a prolog of 32 KB or more, or that
            # new document): only a pass without the schema can tell whether it is well-formed.
            outcome.errors = find_errors(path, schema, cap=error_cap, **locate)
        elif not outcome.errors and (failure is not None or not complete):
            prolog_error = _check_prolog(path, _root_start(path), fmt) if first_root is None else None
            if prolog_error:
                outcome.errors.append(prolog_error)
            else:  # broken or invalid: a second pass finds what and where
                outcome.errors, outcome.total_error_count = locate_errors(
                    path, schema, cap=error_cap, fallback=failure.error_log if failure else (), **locate
                )
    if outcome.errors:
        outcome.total_error_count = max(outcome.total_error_count, len(outcome.errors))
    if progress:
        progress(total, total)
    return outcome


def _check_prolog(path, root, fmt: RecordFormat) -> LocatedError | None:
    if root is None:
        return None
    label, root_tag = fmt.label, fmt.root_tag
    doctype = root.getroottree().docinfo.doctype
    if doctype:
        line = _line_of(path, b"<!DOCTYPE")
        return LocatedError(
            line=line,
            path="",
            message=f"The file declares a DOCTYPE at line {line}: DOCTYPE is not allowed. {label} files "
            "must not contain a DOCTYPE or entity declarations; remove it and upload again.",
        )
    if root.tag != root_tag:
        name = etree.QName(root)
        if name.localname == root_tag:
            message = (
                f"The root element <{root_tag}> is in the namespace {name.namespace}; {label} elements "
                "have no namespace. Remove the xmlns declaration and upload again."
            )
        elif name.localname in fmt.other_roots:
            message = (
                f"This is {fmt.other_roots[name.localname]} (<{name.localname}>), not a {label} file "
                f"(<{root_tag}>). Upload it to its own collection, and the {label} file here."
            )
        else:
            message = (
                f"The root element is <{name.localname}>; a {label} file starts with <{root_tag}>. "
                "Check you chose the right file."
            )
        return LocatedError(line=root.sourceline, path=f"/{name.localname}", message=message)
    return None


def _too_many_pis(pi, fmt: RecordFormat) -> LocatedError:
    return LocatedError(
        line=pi.sourceline,
        path="",
        message=f"The file has more than {MAX_PIS:,} processing instructions (<?…?>) by line {pi.sourceline:,}: "
        f"a {fmt.label} file has no need of them. Remove them and upload again.",
    )


def _root_start(path):
    """The root element of a file the fast pass saw no element of, once the event after its
    start tag shows that tag was read whole (at the end of a truncated file libxml2 reports
    a start tag cut short, "<StudentRec"), or None."""
    root = None
    try:
        for _event, element in etree.iterparse(str(path), events=("start", "end"), **SAFE_PARSE_OPTIONS):
            if root is not None:
                return root
            root = element
    except etree.XMLSyntaxError:
        return None
    return root


def _drop_pis(element) -> None:
    """Remove the processing instructions in a complete element, joining the text around
    them, as the parser's remove_pis would (the fast pass keeps PIs to see its end marker)."""
    for pi in list(element.iter(etree.PI)):
        parent, tail, previous = pi.getparent(), pi.tail or "", pi.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
        parent.remove(pi)


def _line_of(path, needle: bytes) -> int:
    """The line of `needle` in the file's prolog (its first 64 KB), or 1."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    at = head.find(needle)
    return head.count(b"\n", 0, at) + 1 if at >= 0 else 1
