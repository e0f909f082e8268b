"""Parser settings for untrusted XML: no entity expansion, no DTD loading, no network."""

from functools import cache
from pathlib import Path

from lxml import etree

XSD_DIR = Path(__file__).resolve().parent.parent / "xsd"

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
def load_schema(filename: str) -> etree.XMLSchema:
    """The project's own XSDs are trusted files, but are parsed with the same safe options."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(XSD_DIR / filename), parser))
