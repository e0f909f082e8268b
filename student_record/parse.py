"""Stream a Student record file once: validate it against the XSD and extract its records.

One pass over the file does both: lxml validates while iterparse hands us each <Student>,
whose fields go straight to two temporary files in PostgreSQL COPY text format; the element
is then cleared, so memory stays flat whatever the file size. If the file turns out to be
invalid the temporary files are thrown away (nothing is stored) and a second, slower pass
finds each error's line and path (see locate.py).

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

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TextIO

from lxml import etree

from collections_app.pipeline.ids import record_id
from collections_app.pipeline.locate import LocatedError, find_errors, locate_errors
from collections_app.pipeline.parsing import COPY_ESCAPES, NULL, ParseOutcome, ProgressCallback, ProgressReader
from collections_app.pipeline.xmlsafe import SAFE_PARSE_OPTIONS, encoding_problem, load_schema

SCHEMA_FILE = Path(__file__).resolve().parent / "xsd" / "student_record_v1.xsd"
ROOT_TAG = "StudentRecord"
_LOCATE = {"root_tag": ROOT_TAG, "record_tag": "Student", "label": "Student record", "key_tags": ("HUSID", "OWNSTU")}

STUDENT_COLUMNS = (
    "id",
    "submission_id",
    "line",
    "husid",
    "ownstu",
    "fnames",
    "surname",
    "birthdte",
    "gender",
    "ethnic",
    "ucasnum",
)
INSTANCE_COLUMNS = (
    "id",
    "submission_id",
    "student_id",
    "line",
    "husid",
    "numhus",
    "ownpsd",
    "qualaim",
    "ptitle",
    "comdate",
    "mode",
    "rsnleave",
    "dateleft",
    "notact",
    "qual1",
    "qual2",
    "yrllinst",
    "totalts",
    "qualent2",
    "postcode",
    "domicile",
)
END_MARK = "portal-end-of-file"
_PARSE_OPTIONS = {**SAFE_PARSE_OPTIONS, "remove_pis": False}  # the end marker is a PI
# PIs are kept as nodes (lxml would crash collecting PI events without them), and those after
# the last record are not dropped, so a file of nothing else would fill memory: cap them.
MAX_PIS = 1000


def _text(element) -> str:
    return element.text or ""


def parse_student_record(
    path: str | os.PathLike,
    *,
    submission_id: int,
    students_out: TextIO,
    instances_out: TextIO,
    progress: ProgressCallback | None = None,
    error_cap: int = 1000,
) -> ParseOutcome:
    """Validate and extract in one streaming pass; on invalid input, locate the errors.

    Rows go to `students_out` / `instances_out` in COPY text format as they are read; when the
    outcome has errors the caller must throw them away (see load.RowSinks).
    """
    schema = load_schema(SCHEMA_FILE)
    # libxml2 keeps a per-thread error log; an earlier file's errors must not leak into this one.
    etree.clear_error_log()
    outcome = ParseOutcome()
    total = os.path.getsize(path)
    token = secrets.token_hex(8)
    with open(path, "rb") as raw:
        problem = encoding_problem(raw.read(1024))
        if problem:
            outcome.errors.append(LocatedError(line=1, path="", message=problem))
            outcome.total_error_count = 1
            return outcome
        raw.seek(0)
        extractor = _Extractor(submission_id, students_out, instances_out)
        reader = ProgressReader(raw, total, progress, trailer=f"<?{END_MARK} {token}?>".encode())
        context = etree.iterparse(
            reader,
            events=("end", "pi"),
            tag=("Student", "RECID", "INSTID", "UKPRN", ROOT_TAG, etree.PI),
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
                        outcome.errors.append(_too_many_pis(element))
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
                    prolog_error = _check_prolog(path, first_root)
                    if prolog_error:
                        outcome.errors.append(prolog_error)
                        break
                if pis_inside:
                    _drop_pis(element)
                    pis_inside = False
                tag = element.tag
                if tag == "Student":
                    extractor.student(element)
                    # Drop what we have read: the element and the siblings before it.
                    element.clear(keep_tail=False)
                    parent = element.getparent()
                    while element.getprevious() is not None:
                        del parent[0]
                elif tag == ROOT_TAG:
                    root_closed = element is first_root
                else:
                    outcome.header[tag] = _text(element)
                    outcome.header_lines[tag] = element.sourceline or 0
        except etree.XMLSyntaxError as exc:
            failure = exc
        # The whole file was read, as one document: its root closed, and nothing but comments
        # and PIs followed (lxml starts a new document after an error it swallowed).
        complete = root_closed and marker_last and context.root is first_root
        if complete and late_start and not outcome.errors:
            # Its first record came after the first chunk (a prolog of 32 KB or more, or that
            # new document): only a pass without the schema can tell whether it is well-formed.
            outcome.errors = find_errors(path, schema, cap=error_cap, **_LOCATE)
        elif not outcome.errors and (failure is not None or not complete):
            prolog_error = _check_prolog(path, _root_start(path)) if first_root is None else None
            if prolog_error:
                outcome.errors.append(prolog_error)
            else:  # broken or invalid: a second pass finds what and where
                outcome.errors, outcome.total_error_count = locate_errors(
                    path, schema, cap=error_cap, fallback=failure.error_log if failure else (), **_LOCATE
                )
        outcome.records = extractor.instances
        outcome.submission_fields = {
            "student_count": extractor.students,
            "instance_count": extractor.instances,
            "file_recid": outcome.header.get("RECID", ""),
            "file_instid": outcome.header.get("INSTID", ""),
            "file_ukprn": outcome.header.get("UKPRN", ""),
        }
    if outcome.errors:
        outcome.total_error_count = max(outcome.total_error_count, len(outcome.errors))
    if progress:
        progress(total, total)
    return outcome


# Roots of other returns, to say which file this is.
_OTHER_ROOTS = {"ContactDetailsRecord": "a Graduate Outcomes contact details file"}


def _check_prolog(path, root) -> LocatedError | None:
    if root is None:
        return None
    doctype = root.getroottree().docinfo.doctype
    if doctype:
        line = _line_of(path, b"<!DOCTYPE")
        return LocatedError(
            line=line,
            path="",
            message=f"The file declares a DOCTYPE at line {line}: DOCTYPE is not allowed. Student record files "
            "must not contain a DOCTYPE or entity declarations; remove it and upload again.",
        )
    if root.tag != ROOT_TAG:
        name = etree.QName(root)
        if name.localname == ROOT_TAG:
            message = (
                f"The root element <{ROOT_TAG}> is in the namespace {name.namespace}; Student record elements "
                "have no namespace. Remove the xmlns declaration and upload again."
            )
        elif name.localname in _OTHER_ROOTS:
            message = (
                f"This is {_OTHER_ROOTS[name.localname]} (<{name.localname}>), not a Student record file "
                f"(<{ROOT_TAG}>). Upload it to its own collection, and the Student record file here."
            )
        else:
            message = (
                f"The root element is <{name.localname}>; a Student record file starts with <{ROOT_TAG}>. "
                "Check you chose the right file."
            )
        return LocatedError(line=root.sourceline, path=f"/{name.localname}", message=message)
    return None


def _too_many_pis(pi) -> LocatedError:
    return LocatedError(
        line=pi.sourceline,
        path="",
        message=f"The file has more than {MAX_PIS:,} processing instructions (<?…?>) by line {pi.sourceline:,}: "
        "a Student record file has no need of them. Remove them and upload again.",
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


class _Extractor:
    """Turns <Student> elements into COPY rows for sr_student and sr_instance.

    This is the per-record hot path of ingest: dict comprehensions and C-level finds, no
    per-field branching.
    """

    def __init__(self, submission_id: int, students_out, instances_out):
        self.submission_id = submission_id
        self.sub = str(submission_id)
        self.students_out = students_out
        self.instances_out = instances_out
        self.students = 0
        self.instances = 0

    def student(self, element) -> None:
        # Entity references (never resolved) have a non-string tag; the schema rejects them.
        fields = {child.tag: child.text or "" for child in element}
        self.students += 1
        student_id = str(record_id(self.submission_id, self.students))
        get = fields.get
        husid = get("HUSID", "")
        self.students_out.write(
            "\t".join(
                (
                    student_id,
                    self.sub,
                    str(element.sourceline or 0),
                    husid,
                    get("OWNSTU", "").translate(COPY_ESCAPES),
                    get("FNAMES", "").translate(COPY_ESCAPES),
                    get("SURNAME", "").translate(COPY_ESCAPES),
                    get("BIRTHDTE") or NULL,
                    get("GENDER", ""),
                    get("ETHNIC", ""),
                    get("UCASNUM", ""),
                )
            )
            + "\n"
        )
        prefix = f"{self.sub}\t{student_id}\t"
        write = self.instances_out.write
        for instance in element.iterchildren("Instance"):
            fields = {child.tag: child.text or "" for child in instance}
            entry = instance.find("EntryProfile")
            if entry is not None:
                fields.update({child.tag: child.text or "" for child in entry})
            get = fields.get
            self.instances += 1
            write(
                "\t".join(
                    (
                        str(record_id(self.submission_id, self.instances)),
                        prefix + str(instance.sourceline or 0),
                        husid,
                        get("NUMHUS", "").translate(COPY_ESCAPES),
                        get("OWNPSD", "").translate(COPY_ESCAPES),
                        get("QUALAIM", ""),
                        get("PTITLE", "").translate(COPY_ESCAPES),
                        get("COMDATE") or NULL,
                        get("MODE", ""),
                        get("RSNLEAVE", ""),
                        get("DATELEFT") or NULL,
                        get("NOTACT", ""),
                        get("QUAL1", ""),
                        get("QUAL2", ""),
                        get("YRLLINST", ""),
                        get("TOTALTS", ""),
                        get("QUALENT2", ""),
                        get("POSTCODE", ""),
                        get("DOMICILE", ""),
                    )
                )
                + "\n"
            )
