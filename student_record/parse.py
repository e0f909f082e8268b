"""Stream a Student record file once: validate it against the XSD and extract its records.

One pass over the file does both: lxml validates while iterparse hands us each <Student>,
whose fields go straight to two temporary files in PostgreSQL COPY text format; the element
is then cleared, so memory stays flat whatever the file size. If the file turns out to be
invalid the temporary files are thrown away (nothing is stored) and a second, slower pass
finds each error's line and path. The pass itself, and its defences against truncated and
hostile files, are every kind's: collections_app.pipeline.parsing.stream_records.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from collections_app.pipeline.ids import record_id
from collections_app.pipeline.parsing import (
    COPY_ESCAPES,
    NULL,
    ParseOutcome,
    ProgressCallback,
    RecordFormat,
    stream_records,
)

SCHEMA_FILE = Path(__file__).resolve().parent / "xsd" / "student_record_v1.xsd"
ROOT_TAG = "StudentRecord"

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
FORMAT = RecordFormat(
    schema_file=SCHEMA_FILE,
    root_tag=ROOT_TAG,
    record_tag="Student",
    header_tags=("RECID", "INSTID", "UKPRN"),
    label="Student record",
    # Roots of other returns, to say which file this is.
    other_roots={"ContactDetailsRecord": "a Graduate Outcomes contact details file"},
    key_tags=("HUSID", "OWNSTU"),
    records_name="students",
)


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
    extractor = _Extractor(submission_id, students_out, instances_out)
    outcome = stream_records(path, FORMAT, on_record=extractor.student, progress=progress, error_cap=error_cap)
    outcome.records = extractor.instances
    outcome.submission_fields = {
        "student_count": extractor.students,
        "instance_count": extractor.instances,
        "file_recid": outcome.header.get("RECID", ""),
        "file_instid": outcome.header.get("INSTID", ""),
        "file_ukprn": outcome.header.get("UKPRN", ""),
    }
    return outcome


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
