"""Stream a contact details file once: validate it against its XSD and extract graduates and
their details as COPY rows for go_graduate and go_detail (see student_record.parse, and
collections_app.pipeline.parsing.stream_records for the pass and its defences).

Each detail is normalised and classified as it is read (contacts.normalise); the same detail
twice for one graduate (same family, same normalised value) is kept once, the first time it
appears, and counted in go_graduate.merged (spec: "kept once, reported as a count").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from collections_app.pipeline.ids import record_id
from collections_app.pipeline.parsing import (
    COPY_ESCAPES,
    ParseOutcome,
    ProgressCallback,
    RecordFormat,
    stream_records,
)

from .normalise import classify_email, classify_phone

SCHEMA_FILE = Path(__file__).resolve().parent / "xsd" / "contact_details_v1.xsd"
ROOT_TAG = "ContactDetailsRecord"
LABEL = "Graduate Outcomes contact details"

GRADUATE_COLUMNS = ("id", "submission_id", "line", "husid", "numhus", "gradstatus", "merged")
DETAIL_COLUMNS = (
    "id",
    "submission_id",
    "graduate_id",
    "line",
    "husid",
    "numhus",
    "detail_type",
    "value",
    "normalised",
    "domain",
    "number_type",
    "region",
    "problem",
    "role_mailbox",
    "dummy",
)
FORMAT = RecordFormat(
    schema_file=SCHEMA_FILE,
    root_tag=ROOT_TAG,
    record_tag="Graduate",
    header_tags=("RECID", "UKPRN"),
    label=LABEL,
    other_roots={"StudentRecord": "a Student record file"},
    key_tags=("HUSID", "NUMHUS"),
    records_name="graduates",
)


def parse_contact_details(
    path: str | os.PathLike,
    *,
    submission_id: int,
    graduates_out: TextIO,
    details_out: TextIO,
    progress: ProgressCallback | None = None,
    error_cap: int = 1000,
) -> ParseOutcome:
    """Validate and extract in one streaming pass; on invalid input, locate the errors. Rows
    must be thrown away when the outcome has errors (see load.RowSinks)."""
    extractor = _Extractor(submission_id, graduates_out, details_out)
    outcome = stream_records(path, FORMAT, on_record=extractor.graduate, progress=progress, error_cap=error_cap)
    outcome.records = extractor.graduates
    outcome.submission_fields = {
        # A contact submission has one record per graduate: both counts are graduates.
        "student_count": extractor.graduates,
        "instance_count": extractor.graduates,
        "file_recid": outcome.header.get("RECID", ""),
        "file_ukprn": outcome.header.get("UKPRN", ""),
    }
    return outcome


_BOOL = ("0", "1")


class _Extractor:
    """Turns <Graduate> elements into COPY rows for go_graduate and go_detail (the hot path)."""

    def __init__(self, submission_id: int, graduates_out, details_out):
        self.submission_id = submission_id
        self.sub = str(submission_id)
        self.graduates_out = graduates_out
        self.details_out = details_out
        self.graduates = 0
        self.details = 0

    def graduate(self, element) -> None:
        self.graduates += 1
        submission_id, sub = self.submission_id, self.sub
        graduate_id = str(record_id(submission_id, self.graduates))
        husid = numhus = gradstatus = ""
        seen: set[tuple[bool, str]] = set()
        merged = 0
        rows = []
        for child in element:
            tag, text = child.tag, child.text or ""
            if tag in _DETAIL_TAGS:
                is_email = tag == "EMAIL"
                normalised, domain, number_type, region, problem, role_mailbox, dummy = (
                    classify_email(text) if is_email else classify_phone(tag, text)
                )
                key = (is_email, normalised)
                if key in seen:
                    merged += 1
                    continue
                seen.add(key)
                self.details += 1
                if "\\" in text or "\t" in text:  # all else is escape-free (the XSD: no newlines)
                    text, normalised, domain = (
                        text.translate(COPY_ESCAPES),
                        normalised.translate(COPY_ESCAPES),
                        domain.translate(COPY_ESCAPES),
                    )
                if problem:
                    problem = problem.translate(COPY_ESCAPES)
                # HUSID and NUMHUS come first in a valid <Graduate> (an invalid file's rows are dropped).
                rows.append(
                    f"{record_id(submission_id, self.details)}\t{sub}\t{graduate_id}\t{child.sourceline or 0}"
                    f"\t{husid}\t{numhus}\t{tag}\t{text}\t{normalised}\t{domain}\t{number_type}\t{region}"
                    f"\t{problem}\t{_BOOL[role_mailbox]}\t{_BOOL[dummy]}\n"
                )
            elif tag == "HUSID":
                husid = text
            elif tag == "NUMHUS":
                numhus = text.translate(COPY_ESCAPES)
            elif tag == "GRADSTATUS":
                gradstatus = text
            # anything else (an entity reference, a misplaced element): the schema rejects it
        self.graduates_out.write(
            f"{graduate_id}\t{sub}\t{element.sourceline or 0}\t{husid}\t{numhus}\t{gradstatus}\t{merged}\n"
        )
        if rows:
            self.details_out.write("".join(rows))


_DETAIL_TAGS = frozenset(("EMAIL", "UKMOB", "UKTEL", "INTTEL"))
