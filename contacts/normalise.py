"""Normalise and classify one email address or phone number of a contact details file.

What a detail is compared by (`normalised`) and what the rules need to know about it (problem,
domain, number type, region, role mailbox, dummy number) are decided here once, at ingest, by
the libraries the spec names: `email-validator` (no DNS unless CONTACTS_EMAIL_CHECK_DELIVERABILITY)
and `phonenumbers`. The rules (contacts.rules) only compare columns.

Speed: this runs for every detail of every upload (600,000 for a large cohort), and the two
libraries cost 20-50 us a value. What is done about it, each step exact (tests/contacts/
test_normalise.py compares the results with the libraries' own answers on random numbers):
- no cache on the value as given: measured, a bounded LRU cost 10% on a cohort's (unique) values
  and cannot hold a large file's, so a re-upload gains nothing either; what repeats is cached
  instead (domains, and a number's verdict per element, country, region and type);
- email-validator's domain check, two thirds of its time, is a pure function of the domain, and
  a cohort has few domains: we call it once per domain (_domain_checked; the library itself is
  not patched);
- a plain valid address (ASCII, dot-atom local part, a domain the memoised check accepts, within
  the length limits) is recognised without the rest of validate_email (plain_valid_email);
  anything else goes to validate_email, which also gives the reason it is not valid;
- a UK number written as 0 and ten digits, or +44 and ten digits (spaces allowed), is what
  phonenumbers.parse would make of it without the parse (its general parser is half the cost
  of a phone);
- a number's region and type are worked out once: number_type() and is_valid_number() each
  find the region again, which for +44 means classifying the number against GB (and GG, IM,
  JE) first;
- the type is phonenumbers' _number_type_helper done with one regex call: a region's patterns
  joined, in the helper's order, into one alternation per number length (see _TypePlan).

Measured on this project's 2-core machine, 526,000 details of 200,000 graduates: phonenumbers'
parse + number_type + is_valid_number + region_code_for_number ~37 us a number, email-validator
~20 us an address; here ~3.5 us a number and ~2.8 us an address.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import phonenumbers
from django.conf import settings
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT
from email_validator.syntax import validate_email_domain_name
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberType
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.re_util import re_compile

ROLE_MAILBOX_FILE = Path(__file__).resolve().parent / "role_mailboxes.txt"


class Classified(NamedTuple):
    """What contacts.models.ContactDetail stores about a detail, beside the value as given."""

    normalised: str
    domain: str = ""
    number_type: str = ""
    region: str = ""
    problem: str = ""
    role_mailbox: bool = False
    dummy: bool = False


def _load_role_mailboxes() -> frozenset[str]:
    names = set()
    for line in ROLE_MAILBOX_FILE.read_text(encoding="utf-8").splitlines():
        name = line.split("#", 1)[0].strip().lower()
        if name:
            names.add(_squash(name))
    return frozenset(names)


_SEPARATORS = str.maketrans("", "", ".-_")


def _squash(local: str) -> str:
    return local.translate(_SEPARATORS)


ROLE_MAILBOXES = _load_role_mailboxes()


def is_role_mailbox(local_part: str) -> bool:
    """info@, no-reply@, Student.Services@ ... : the local part (any +tag dropped), lower-cased
    and without dots, hyphens and underscores, is on the maintained list."""
    local = local_part.lower().split("+", 1)[0]
    return _squash(local) in ROLE_MAILBOXES


# --- Emails ---------------------------------------------------------------------------------


@lru_cache(maxsize=1 << 14)
def _domain_checked(domain: str):
    """email-validator's own domain check (IDNA, special-use names, syntax) for one domain, once:
    a cohort's addresses share a few thousand domains. (An invalid one raises and is not cached.)
    Our cache, not a patch of the library: validate_email itself is left as it is."""
    return validate_email_domain_name(domain, test_environment=False, globally_deliverable=True)


def plain_valid_email(address: str) -> tuple[str, str] | None:
    """(local part, domain) of an address email-validator (no DNS) accepts, worked out the way
    it does for the common case: ASCII, no quotes or angle brackets, a dot-atom local part (its
    own DOT_ATOM_TEXT), a domain its domain check accepts, and within its length limits. None
    when the address is anything else: then the library itself decides, and says why not."""
    if "@" not in address or not address.isascii() or '"' in address or "<" in address:
        return None
    local, domain_part = address.split("@", 1)
    if not DOT_ATOM_TEXT.match(local) or not domain_part or domain_part[0] == "[":
        return None
    try:
        checked = _domain_checked(domain_part)
    except EmailNotValidError:
        return None
    length = len(local) + 1
    if max(len(address), length + len(checked["domain"].encode()), length + len(checked["ascii_domain"])) > 254:
        return None
    return local, checked["domain"]


def classify_email(value: str) -> Classified:
    address = value.strip()
    normalised = address.lower()
    plain = None if settings.CONTACTS_EMAIL_CHECK_DELIVERABILITY else plain_valid_email(address)
    if plain is not None:
        local, domain = plain
    else:
        try:
            valid = validate_email(
                address, check_deliverability=settings.CONTACTS_EMAIL_CHECK_DELIVERABILITY, allow_smtputf8=True
            )
        except EmailNotValidError as exc:
            at = normalised.rfind("@")
            return Classified(
                normalised=normalised, domain=normalised[at + 1 :] if at >= 0 else "", problem=_sentence(str(exc))
            )
        local, domain = valid.local_part, valid.domain
    return Classified(normalised=normalised, domain=domain.lower(), role_mailbox=is_role_mailbox(local))


def _sentence(text: str) -> str:
    text = text.strip()
    if text and text[-1] not in ".!?":
        text += "."
    return text[:300]


# --- Phones ---------------------------------------------------------------------------------

UK_COUNTRY_CODE = 44
# phonenumbers' type names, lower-cased ("mobile", "fixed_line", "premium_rate", ...).
_TYPE_NAMES = {
    value: name.lower() for name, value in vars(PhoneNumberType).items() if name.isupper() and isinstance(value, int)
}
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
_LANDLINE_TYPES = {PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}

# Ofcom's numbers for TV, radio and film (drama) use: national significant number prefixes
# (after +44), each a block of 1,000 numbers (028 9649 6xxx: 1,000 too).
DRAMA_PREFIXES = (
    "7700900",  # 07700 900000-900999
    "1632960",  # 01632 960000-960999
    "2079460",  # 020 7946 0000-0999
    *(f"{area}4960" for area in ("113", "114", "115", "116", "117", "118", "121", "131", "141", "151", "161")),
    "1914980",  # 0191 498 0000-0999
    "2896496",  # 028 9649 6000-6999
    "2920180",  # 029 2018 0000-0999
    "3069990",  # 0306 999 0000-0999
    "8081570",  # 0808 157 0000-0999
    "9098790",  # 0909 879 0000-0999
)


def is_dummy_number(country_code: int, national_number: str) -> bool:
    """An Ofcom drama number, or all one digit repeated (07777 777777, +33 6 66 66 66 66)."""
    if national_number and national_number == national_number[0] * len(national_number):
        return True
    return country_code == UK_COUNTRY_CODE and len(national_number) == 10 and national_number.startswith(DRAMA_PREFIXES)


def classify_phone(detail_type: str, value: str) -> Classified:
    """UKMOB and UKTEL are read as UK numbers (a leading 0 is the UK's trunk prefix), INTTEL as
    given: it must carry its country code (+33 ...)."""
    stripped = value.strip()
    uk_element = detail_type != "INTTEL"
    simple = uk_national_number(stripped, uk_element=uk_element)
    if simple is not None:
        country_code, national = UK_COUNTRY_CODE, simple
    else:
        try:
            number = phonenumbers.parse(stripped, "GB" if uk_element else None)
        except NumberParseException as exc:
            return Classified(normalised=stripped, problem=_parse_problem(detail_type, exc))
        country_code, national = number.country_code, phonenumbers.national_significant_number(number)
    region, kind = region_and_type(country_code, national)
    number_type, region, problem = _verdict(detail_type, country_code, region, kind)
    return Classified(
        f"+{country_code}{national}", "", number_type, region, problem, False, is_dummy_number(country_code, national)
    )


@lru_cache(maxsize=4096)
def _verdict(detail_type: str, country_code: int, region: str, kind: int) -> tuple[str, str, str]:
    """number_type, region and problem: what they are depends on these alone (a few hundred)."""
    known = kind != PhoneNumberType.UNKNOWN
    return (
        _TYPE_NAMES.get(kind, "") if known else "",
        region if known else "",
        _phone_problem(detail_type, country_code, kind),
    )


_GB = PhoneMetadata.metadata_for_region("GB")
# The shortcut below relies on GB's trunk prefix being a plain "0" (no transform rule).
_UK_SHORTCUT = _GB is not None and _GB.national_prefix == "0" and _GB.national_prefix_transform_rule is None


def uk_national_number(value: str, *, uk_element: bool) -> str | None:
    """The national significant number phonenumbers.parse gives a UK number written plainly:
    "07911 123456" (read with region GB) or "+44 7911 123456", ten digits not starting 0;
    None for anything else (which goes through the parser)."""
    if not _UK_SHORTCUT:
        return None
    compact = value.replace(" ", "")
    if not compact.isascii():
        return None
    if uk_element and len(compact) == 11 and compact[0] == "0" and compact[1] != "0" and compact.isdigit():
        return compact[1:]
    if len(compact) == 13 and compact.startswith("+44") and compact[3] != "0" and compact[3:].isdigit():
        return compact[3:]
    return None


# phonenumbers' _number_type_helper, in its order: the first description matched gives the type.
_TYPE_ORDER = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)


class _TypePlan:
    """phonenumbers' _number_type_helper for one region's metadata, with the same answers.

    The helper tries the general description, then premium rate, toll free, ... voicemail, fixed
    line and mobile in turn, each a length check and a full match of its pattern. Here the
    descriptions a number's length allows are joined, in that order, into one alternation, each
    alternative ending in an empty named group: a full match of the alternation takes the first
    alternative that matches the whole number, so its group names the first description that
    matches, as the helper's sequence of checks would find (one regex call instead of ten)."""

    def __init__(self, metadata):
        self.metadata = metadata
        self.same_mobile_and_fixed = metadata.same_mobile_and_fixed_line_pattern
        self.descs = [(name, metadata.general_desc if name == "general" else getattr(metadata, name))
                      for name in ("general", *(n for n, _k in _TYPE_ORDER), "fixed_line", "mobile")]  # fmt: skip
        self._by_length: dict[int, tuple] = {}

    def _for_length(self, size: int):
        plan = self._by_length.get(size)
        if plan is None:
            plan = self._by_length[size] = self._build(size)
        return plan

    def _build(self, size: int):
        def usable(desc) -> bool:
            # _is_number_matching_desc: no description, a length it does not have, or no pattern: no match.
            if desc is None or not desc.national_number_pattern:
                return False
            return not desc.possible_length or size in desc.possible_length

        general = self.descs[0][1]
        if not usable(general):
            return None
        general_match = re_compile(general.national_number_pattern).fullmatch
        names = [name for name, desc in self.descs[1:] if usable(desc)]
        if not names:
            return general_match, None, None
        descs = dict(self.descs)
        joined = "|".join(f"(?:{descs[name].national_number_pattern})(?P<{name}>)" for name in names)
        mobile = descs["mobile"]
        mobile_match = re_compile(mobile.national_number_pattern).fullmatch if usable(mobile) else None
        return general_match, re.compile(joined).fullmatch, mobile_match

    def type_of(self, number: str) -> int:
        plan = self._for_length(len(number))
        if plan is None:
            return PhoneNumberType.UNKNOWN
        general_match, first_match, mobile_match = plan
        if general_match(number) is None or first_match is None:
            return PhoneNumberType.UNKNOWN
        found = first_match(number)
        if found is None:
            return PhoneNumberType.UNKNOWN
        name = found.lastgroup
        if name == "fixed_line":
            if self.same_mobile_and_fixed or (mobile_match is not None and mobile_match(number) is not None):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if name == "mobile":
            return PhoneNumberType.UNKNOWN if self.same_mobile_and_fixed else PhoneNumberType.MOBILE
        return _SPECIAL_KINDS[name]


_SPECIAL_KINDS = dict(_TYPE_ORDER)


_PLANS: dict[int, _TypePlan] = {}


def _number_type_helper(national: str, metadata) -> int:
    plan = _PLANS.get(id(metadata))
    if plan is None or plan.metadata is not metadata:  # the plan keeps its metadata: ids are not reused
        plan = _PLANS[id(metadata)] = _TypePlan(metadata)
    return plan.type_of(national)


_REGION_METADATA: dict[str, object] = {}


def _metadata_for_region(region: str):
    metadata = _REGION_METADATA.get(region)
    if metadata is None:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is not None:  # loaded once, kept by phonenumbers
            _REGION_METADATA[region] = metadata
    return metadata


def region_and_type(country_code: int, national: str) -> tuple[str, int]:
    """phonenumbers.region_code_for_number and number_type of a number, the type computed once
    (what both functions do, in the same order)."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return "", PhoneNumberType.UNKNOWN
    if len(regions) == 1:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, regions[0])
        return regions[0], _number_type_helper(national, metadata) if metadata else PhoneNumberType.UNKNOWN
    for region in regions:
        metadata = _metadata_for_region(region)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if re_compile(metadata.leading_digits).match(national):
                return region, _number_type_helper(national, metadata)
        else:
            kind = _number_type_helper(national, metadata)
            if kind != PhoneNumberType.UNKNOWN:
                return region, kind
    return "", PhoneNumberType.UNKNOWN


_NOT_VALID = {
    "UKMOB": "Not a valid UK mobile number",
    "UKTEL": "Not a valid UK landline number",
    "INTTEL": "Not a valid number outside the UK",
}


def _parse_problem(detail_type: str, exc: NumberParseException) -> str:
    if detail_type == "INTTEL" and exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return f"{_NOT_VALID['INTTEL']}: it has no country code (give it as +33 ..., +1 ...)."
    return f"{_NOT_VALID.get(detail_type, 'Not a valid number')}: it could not be read as a phone number."


def _phone_problem(detail_type: str, country_code: int, kind: int) -> str:
    uk = country_code == UK_COUNTRY_CODE
    what = _TYPE_NAMES.get(kind, "").replace("_", " ")
    if detail_type == "UKMOB":
        if uk and kind in _MOBILE_TYPES:
            return ""
        if kind == PhoneNumberType.UNKNOWN:
            return "Not a valid UK mobile number."
        return f"Not a valid UK mobile number: it is a {'UK' if uk else 'non-UK'} {what} number."
    if detail_type == "UKTEL":
        if uk and kind in _LANDLINE_TYPES:
            return ""
        if kind == PhoneNumberType.UNKNOWN:
            return "Not a valid UK landline number."
        return f"Not a valid UK landline number: it is a {'UK' if uk else 'non-UK'} {what} number."
    # INTTEL
    if kind == PhoneNumberType.UNKNOWN:
        return "Not a valid number outside the UK: not a valid number."
    if uk:
        return "Not a valid number outside the UK: it is a UK number (give it as UKMOB or UKTEL)."
    return ""
