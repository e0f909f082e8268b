"""Find what is wrong with a file the fast pass did not accept: line numbers and element paths.

The fast pass (parse.py) validates while it streams, but lxml reports schema errors from it
without lines, and it cannot report well-formedness errors at all: libxml2's schema SAX plug
(xmlSchemaSAXPlug) swaps in a SAX handler without the structured-error callback lxml had
installed, so the parser's errors never reach lxml's error log. This slower pass runs only for
files already known to be bad. It parses again without a schema, feeding the file in chunks
so that a file which simply stops (every byte was fine and the parser wanted more: a
truncated upload) is told apart from one that is broken. If the file is well-formed, each
record element (the Student record's <Student>, a global element in its XSD, so a subtree
validates with its original line numbers) and dropped, and finally the remaining envelope.
The record element and the kind's name come from the kind's parser (`record_tag`, `label`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from .xmlsafe import SAFE_PARSE_OPTIONS

CHUNK = 1 << 16


@dataclass(frozen=True)
class LocatedError:
    line: int | None
    path: str
    message: str
    record: str = ""  # which record, in the kind's own terms: "HUSID 9811681234562, OWNSTU S1"


_PARSER_DOMAINS = {etree.ErrorDomains.PARSER, etree.ErrorDomains.NAMESPACE, etree.ErrorDomains.IO}
_ELEMENT_PREFIX = re.compile(r"^Element '([^']+)'(?:, attribute '[^']+')?: ")
_NOT_UTF8 = {etree.ErrorTypes.ERR_INVALID_ENCODING, etree.ErrorTypes.ERR_UNSUPPORTED_ENCODING}
AGAIN = "Correct the file (or export it again) and upload it again."


# libxml2's schema messages, as sentences a data manager can act on (issue 12, item 7).
_SENTENCES = (
    (
        re.compile(
            r"\[facet 'enumeration'\] The value '(?P<value>.*)' is not an element of the set \{(?P<set>.*)\}\.?$"
        ),
        lambda m, name: f"{name} is {_shown(m['value'])}; allowed: {', '.join(_codes(m['set']))}.",
    ),
    (
        re.compile(
            r"\[facet 'pattern'\] The value '(?P<value>.*)' is not accepted by the pattern '(?P<pattern>.*)'\.?$"
        ),
        lambda m, name: f"{name} is {_shown(m['value'])}; {_pattern_words(m['pattern'])}.",
    ),
    (
        re.compile(
            r"\[facet 'maxLength'\] The value has a length of '(?P<n>\d+)'; this exceeds the allowed "
            r"maximum length of '(?P<max>\d+)'\.?$"
        ),  # fmt: skip
        lambda m, name: f"{name} is {int(m['n']):,} characters long; at most {int(m['max']):,} are allowed.",
    ),
    (
        re.compile(
            r"\[facet 'minLength'\] The value has a length of '(?P<n>\d+)'; this underruns the allowed "
            r"minimum length of '(?P<min>\d+)'\.?$"
        ),  # fmt: skip
        lambda m, name: f"{name} is empty; it needs at least {m['min']} character{'s' if m['min'] != '1' else ''}.",
    ),
    (
        re.compile(r"'(?P<value>.*)' is not a valid value of the atomic type '(?P<type>[^']*)'\.?$"),
        lambda m, name: f"{name} is {_shown(m['value'])}; " + _type_words(m["type"]) + ".",
    ),
    (
        re.compile(r"This element is not expected\. Expected is (?:one of )?\( (?P<expected>.*) \)\.?$"),
        lambda m, name: f"{name} is not expected here; {_expected_words(m['expected'])} should come here.",
    ),
    (
        re.compile(r"Element content is not allowed, because the type definition is simple\.?$"),
        lambda m, name: f"{name} must hold a plain value, not other elements: remove the elements inside it.",
    ),
    (
        re.compile(r"This element is not expected\.?$"),
        lambda m, name: f"{name} is not expected here: remove it, or check the element order.",
    ),
    (
        re.compile(r"Missing child element\(s\)\. Expected is (?:one of )?\( (?P<expected>.*) \)\.?$"),
        lambda m, name: f"{name} is missing {_expected_words(m['expected'])}.",
    ),
)
_PATTERNS = {
    r"\d{13}": "it must be 13 digits",
    r"\d{8}": "it must be 8 digits",
    r"\d{5}": "it must be 5 digits",
    r"\d{4}": "it must be 4 digits",
    r"\d{9}": "it must be 9 digits",
    r"\d{2}": "it must be a 2-digit code",
    r"\S(.*\S)?": "it must not be blank or start or end with a space",
    r"[^\s]{1,20}": "it must be 1 to 20 characters with no spaces",
}
_TYPES = {"Date": "not a valid date (a date that exists, written YYYY-MM-DD)"}


def _shown(value: str) -> str:
    return f"'{value}'" if not value or value != value.strip() else value


def _codes(listed: str) -> list[str]:
    return re.findall(r"'([^']*)'", listed)


def _pattern_words(pattern: str) -> str:
    return _PATTERNS.get(pattern, f"it does not have the required form ({pattern})")


def _type_words(type_name: str) -> str:
    type_name = type_name.replace("{http://www.w3.org/2001/XMLSchema}", "xs:")
    return _TYPES.get(type_name, f"not a valid {type_name}")


def _expected_words(expected: str) -> str:
    names = [n.strip() for n in expected.split(",") if n.strip()]
    return names[0] if len(names) == 1 else "one of " + ", ".join(names)


def plain_message(message: str) -> str:
    """libxml2 says "Element 'GENDER': [facet 'enumeration'] The value 'Q' is not an element of the
    set {'M', 'F'}"; a person reads "GENDER is Q; allowed: M, F." Messages of no known shape keep
    libxml2's words, without the prefix (the path names the element)."""
    message = message.strip()
    prefix = _ELEMENT_PREFIX.match(message)
    rest = _ELEMENT_PREFIX.sub("", message)
    if prefix:
        for pattern, sentence in _SENTENCES:
            match = pattern.match(rest)
            if match:
                return sentence(match, prefix.group(1))
    rest = rest.replace("{http://www.w3.org/2001/XMLSchema}", "xs:")
    return rest[:1].upper() + rest[1:]


def ends_early(line: int) -> LocatedError:
    return LocatedError(
        line=line,
        path="",
        message=f"The file ends early, at line {line:,}: it is incomplete. Upload the whole file.",
    )


def malformed(exc: etree.XMLSyntaxError, *, label: str) -> LocatedError:
    """A well-formedness error (the file is not XML from this point): the first one, located."""
    entry = next((e for e in exc.error_log if e.domain in _PARSER_DOMAINS), None)
    line = (entry.line if entry else exc.lineno) or None
    column = entry.column if entry else (exc.offset or 0) + 1
    text = (entry.message if entry else exc.msg or str(exc)).strip()
    where = f"line {line:,}, column {column}" if line else "an unknown line"
    if entry is not None and entry.type in _NOT_UTF8:
        message = (
            f"The file is not valid UTF-8 at {where} ({text}). UTF-8 is required: save or export the file "
            "as UTF-8 and upload it again."
        )
    elif entry is not None and entry.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
        # libxml2's limits on untrusted input (nesting depth, text length); its message
        # suggests a parser option, which is no help to whoever uploaded the file.
        limit = "elements are nested too deeply" if "depth" in text else "a value is far too long"
        message = f"The file is not a plausible {label} file: at {where}, {limit}. {AGAIN}"
    else:
        message = f"The file is not well-formed XML at {where}: {text}. {AGAIN}"
    return LocatedError(line=line, path="", message=message)


def locate_errors(
    path, schema, *, cap: int, root_tag: str, record_tag: str, label: str, key_tags=(), fallback=()
) -> tuple[list[LocatedError], int]:
    """The errors in a file the fast pass rejected, up to `cap` (never none), and how many
    there are: schema errors past the cap are not looked for, so the count is the larger of
    those found and those the fast pass saw (`fallback`, its error log).

    A file that is not well-formed gets that one error alone: schema errors found before it
    may be artefacts of the damage (a truncated last record is missing its elements).
    """
    errors = find_errors(
        path, schema, cap=cap, root_tag=root_tag, record_tag=record_tag, label=label, key_tags=key_tags
    )
    if not errors:
        # Should not happen, but never claim a file is invalid without saying why.
        errors = [LocatedError(line=e.line or None, path="", message=plain_message(e.message)) for e in fallback]
        errors = errors[:cap] or [
            LocatedError(line=None, path="", message=f"The file could not be read as a {label} file. {AGAIN}")
        ]
    schema_errors = len(fallback) if len(errors) > 1 or errors[0].path else 0
    return errors, max(len(errors), schema_errors)


def find_errors(
    path, schema, *, cap: int, root_tag: str, record_tag: str, label: str, key_tags=()
) -> list[LocatedError]:
    """The file's errors, up to `cap`: none if it is well-formed and valid. Each error in a record
    names the record by the values of its `key_tags` children (e.g. HUSID and OWNSTU)."""
    etree.clear_error_log()
    errors: list[LocatedError] = []
    scan = _Scan(schema, cap, root_tag, record_tag, errors, key_tags)
    parser = etree.XMLPullParser(events=("end",), tag=(record_tag, root_tag), **SAFE_PARSE_OPTIONS)
    newlines, tail = 0, b""
    with open(path, "rb") as raw:
        try:
            while chunk := raw.read(CHUNK):
                newlines += chunk.count(b"\n")
                tail = chunk
                parser.feed(chunk)
                scan.take(parser.read_events())
        except etree.XMLSyntaxError as exc:
            return [malformed(exc, label=label)]
    if not tail:
        return [LocatedError(line=1, path="", message="The file is empty. Upload the XML file for this collection.")]
    try:
        parser.close()
        scan.take(parser.read_events())
    except etree.XMLSyntaxError as exc:
        last_line = newlines + (0 if tail.endswith(b"\n") else 1)
        error = malformed(exc, label=label)
        # libxml2 looks ahead lazily, so some errors (a stray "&") only surface at the end of
        # the input, but at their own line. One on the last line, with the root still open,
        # is the data running out: every byte so far was fine and the parser wanted more.
        if scan.root_closed or (error.line or last_line) < last_line:
            return [error]
        return [ends_early(last_line)]
    scan.finish()
    return errors[:cap]


class _Scan:
    """Validates each record element as the chunked parse delivers it, then drops it."""

    def __init__(self, schema, cap: int, root_tag: str, record_tag: str, errors: list[LocatedError], key_tags=()):
        self.schema, self.cap, self.root_tag, self.record_tag, self.errors = schema, cap, root_tag, record_tag, errors
        self.key_tags = tuple(key_tags)
        self.records = 0
        self.root = None

    @property
    def root_closed(self) -> bool:
        return self.root is not None

    def take(self, events) -> None:
        for _event, element in events:
            parent = element.getparent()
            if element.tag != self.record_tag:
                if parent is None:  # the root element's end tag
                    self.root = element
                continue
            self.records += 1
            if len(self.errors) < self.cap and not self.schema.validate(element):
                prefix = _path_of(parent) + f"/{self.record_tag}[{self.records}]"
                record = _record_key(element, self.key_tags)
                for entry in self.schema.error_log:
                    self.errors.append(_located(entry, prefix, strip=f"/{self.record_tag}", record=record))
                    if len(self.errors) >= self.cap:
                        break
            if parent is not None:
                parent.remove(element)

    def finish(self) -> None:
        """The envelope without its records: header fields, element order, unexpected elements."""
        root = self.root
        if root is None or len(self.errors) >= self.cap or root.tag != self.root_tag or self.schema.validate(root):
            return
        for entry in self.schema.error_log:
            self.errors.append(_located(entry, "", strip=""))
            if len(self.errors) >= self.cap:
                break


def _located(entry, prefix: str, *, strip: str, record: str = "") -> LocatedError:
    path = entry.path or ""
    if strip and path.startswith(strip):
        path = path[len(strip) :]
    return LocatedError(
        line=entry.line or None, path=prefix + path, message=plain_message(entry.message), record=record
    )


def _record_key(element, key_tags: tuple[str, ...]) -> str:
    """ "HUSID 9811681234562, OWNSTU S1": the record's own identifiers, as the file gives them
    (direct children only; at most 40 characters each, whatever the file holds)."""
    parts = []
    for tag in key_tags:
        value = (element.findtext(tag) or "").strip()
        if value:
            parts.append(f"{tag} {value[:40]}")
    return ", ".join(parts)


def _path_of(element) -> str:
    parts = []
    while element is not None:
        parts.append(element.tag)
        element = element.getparent()
    return "/" + "/".join(reversed(parts))
