"""Parser settings for untrusted XML: no entity expansion, no DTD loading, no network."""

import re
from functools import cache
from pathlib import Path

from lxml import etree

SAFE_PARSE_OPTIONS = {
    "resolve_entities": False,
    "load_dtd": False,
    "no_network": True,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}

UTF8_BOM = b"\xef\xbb\xbf"
# Longest first: a UTF-32LE BOM starts with the UTF-16LE one.
_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
# "<?xml" in UTF-16 or UTF-32 without a byte order mark.
_WIDE_STARTS = (
    (b"<\x00?\x00", "UTF-16"),
    (b"\x00<\x00?", "UTF-16"),
    (b"<\x00\x00\x00", "UTF-32"),
    (b"\x00\x00\x00<", "UTF-32"),
)
_DECLARED_ENCODING = re.compile(rb"""<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
_UTF8_NAMES = {"utf-8", "utf8"}


def encoding_problem(head: bytes) -> str | None:
    """Why a file beginning with `head` is not UTF-8 (the spec requires it), or None.

    Only the byte order mark and the XML declaration are looked at, so this is cheap enough
    to run on every upload; bytes that are not valid UTF-8 further on are a well-formedness
    error the pipeline reports with their line. A UTF-8 byte order mark is fine.
    """
    advice = "UTF-8 is required. Save or export the file as UTF-8 and upload it again."
    for mark, name in (*_BOMS, *_WIDE_STARTS):
        if head.startswith(mark):
            return f"The file is encoded as {name}: {advice}"
    if head.startswith(UTF8_BOM):
        head = head[len(UTF8_BOM) :]
    declared = _DECLARED_ENCODING.match(head)
    if declared:
        name = declared.group(1).decode("ascii", "replace").strip()
        if name.lower() not in _UTF8_NAMES:
            return (
                f'The file declares encoding="{name}": UTF-8 is required. Save or export the file as '
                'UTF-8 (declaring encoding="UTF-8", or no encoding) and upload it again.'
            )
    return None


@cache
def _schema_document(path: Path) -> etree._ElementTree:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.parse(str(path), parser)


def load_schema(path: Path) -> etree.XMLSchema:
    """A fresh validator per file: a parse aborted mid-way can leave a shared one in a bad
    state (seen after an entity-amplification abort), and compiling the XSD takes ~1 ms."""
    return etree.XMLSchema(_schema_document(Path(path)))
