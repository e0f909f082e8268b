"""Find where a file breaks the schema, with line numbers and element paths.

lxml's streaming validation (used by the fast pass) reports schema errors without lines.
This slower pass runs only for files already known to be invalid: it validates each record
element (e.g. the Student record's <Student>, a global element in its XSD, so a subtree
validates with its original line numbers) on its own, drops it, and finally validates the
remaining envelope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from .xmlsafe import SAFE_PARSE_OPTIONS


@dataclass(frozen=True)
class LocatedError:
    line: int | None
    path: str
    message: str


_PARSER_DOMAINS = {etree.ErrorDomains.PARSER, etree.ErrorDomains.NAMESPACE, etree.ErrorDomains.IO}
_ELEMENT_PREFIX = re.compile(r"^Element '([^']+)'(?:, attribute '[^']+')?: ")


def plain_message(message: str) -> str:
    """libxml2 says "Element 'X': 'abc' is not a valid value..."; the path already names X."""
    message = _ELEMENT_PREFIX.sub("", message.strip())
    message = message.replace("{http://www.w3.org/2001/XMLSchema}", "xs:")
    return message[:1].upper() + message[1:]


def syntax_errors(exc: etree.XMLSyntaxError) -> list[LocatedError]:
    """Well-formedness errors (the file is not XML): the first one, with its line."""
    for entry in exc.error_log:
        if entry.domain in _PARSER_DOMAINS:
            return [
                LocatedError(
                    line=entry.line or exc.lineno,
                    path="",
                    message=f"The file is not well-formed XML: {entry.message.strip()} "
                    f"(line {entry.line}, column {entry.column}).",
                )
            ]
    if not len(exc.error_log):
        return [LocatedError(line=exc.lineno, path="", message=f"The file could not be read: {exc}")]
    return []


def locate_schema_errors(path, schema, *, cap: int, fallback, root_tag: str, record_tag: str) -> list[LocatedError]:
    errors: list[LocatedError] = []
    try:
        _locate(path, schema, cap, root_tag, record_tag, errors)
    except etree.XMLSyntaxError as exc:
        # Not well-formed after all (libxml2 can stop late, e.g. on entity amplification).
        errors.extend(syntax_errors(exc) or [LocatedError(line=exc.lineno, path="", message=str(exc))])
    if not errors:
        # Should not happen, but never claim a file is invalid without saying why.
        errors = [LocatedError(line=None, path="", message=plain_message(e.message)) for e in fallback]
    return errors[:cap]


def _locate(path, schema, cap: int, root_tag: str, record_tag: str, errors: list[LocatedError]) -> None:
    index = 0
    etree.clear_error_log()
    context = etree.iterparse(str(path), events=("end",), tag=record_tag, **SAFE_PARSE_OPTIONS)
    for _event, record in context:
        index += 1
        if len(errors) < cap and not schema.validate(record):
            prefix = _path_of(record.getparent()) + f"/{record_tag}[{index}]"
            for entry in schema.error_log:
                errors.append(_located(entry, prefix, strip=f"/{record_tag}"))
                if len(errors) >= cap:
                    break
        parent = record.getparent()
        parent.remove(record)
    root = context.root
    # The envelope without its records: header fields, element order, unexpected elements.
    if root is not None and len(errors) < cap and root.tag == root_tag and not schema.validate(root):
        for entry in schema.error_log:
            errors.append(_located(entry, "", strip=""))
            if len(errors) >= cap:
                break


def _located(entry, prefix: str, *, strip: str) -> LocatedError:
    path = entry.path or ""
    if strip and path.startswith(strip):
        path = path[len(strip) :]
    return LocatedError(line=entry.line or None, path=prefix + path, message=plain_message(entry.message))


def _path_of(element) -> str:
    parts = []
    while element is not None:
        parts.append(element.tag)
        element = element.getparent()
    return "/" + "/".join(reversed(parts))
