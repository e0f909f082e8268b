"""Parser settings for untrusted XML: no entity expansion, no DTD loading, no network."""

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


@cache
def _schema_document(path: Path) -> etree._ElementTree:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.parse(str(path), parser)


def load_schema(path: Path) -> etree.XMLSchema:
    """A fresh validator per file: a parse aborted mid-way can leave a shared one in a bad
    state (seen after an entity-amplification abort), and compiling the XSD takes ~1 ms."""
    return etree.XMLSchema(_schema_document(Path(path)))
