"""Normalise and classify one email address or phone number of a contact details file.

What a detail is compared by (`normalised`) and what the rules need to know about it (problem,
domain, number type, region, role mailbox, dummy number) are decided here once, at ingest, by
the libraries the spec names: `email-validator` (no DNS unless CONTACTS_EMAIL_CHECK_DELIVERABILITY)
and `phonenumbers`. The rules (contacts.rules) only compare columns.

Speed: this runs for every detail of every upload (600,000 for a large cohort). Results are
cached on the exact value as given, so a value seen before costs a dict lookup; the phone path
asks phonenumbers for a number's region and type once (number_type() and is_valid_number() each
work out the region again, which for +44 means trying GB, GG, IM and JE in turn).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import phonenumbers
from django.conf import settings
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, PhoneNumberType
from phonenumbers.phonenumberutil import _number_type_helper, region_code_for_number

ROLE_MAILBOX_FILE = Path(__file__).resolve().parent / "role_mailboxes.txt"
CACHE_SIZE = 1 << 18


@dataclass(frozen=True, slots=True)
class Classified:
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


@lru_cache(maxsize=CACHE_SIZE)
def classify_email(value: str) -> Classified:
    normalised = value.strip().lower()
    at = normalised.rfind("@")
    domain = normalised[at + 1 :] if at >= 0 else ""
    try:
        valid = validate_email(
            value.strip(),
            check_deliverability=settings.CONTACTS_EMAIL_CHECK_DELIVERABILITY,
            allow_smtputf8=True,
        )
    except EmailNotValidError as exc:
        return Classified(normalised=normalised, domain=domain, problem=_sentence(str(exc)))
    return Classified(
        normalised=normalised,
        domain=valid.domain.lower(),
        role_mailbox=is_role_mailbox(valid.local_part),
    )


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
    if len(set(national_number)) == 1:
        return True
    return country_code == UK_COUNTRY_CODE and len(national_number) == 10 and national_number.startswith(DRAMA_PREFIXES)


@lru_cache(maxsize=CACHE_SIZE)
def classify_phone(detail_type: str, value: str) -> Classified:
    """UKMOB and UKTEL are read as UK numbers (a leading 0 is the UK's trunk prefix), INTTEL as
    given: it must carry its country code (+33 ...)."""
    stripped = value.strip()
    try:
        number = phonenumbers.parse(stripped, None if detail_type == "INTTEL" else "GB")
    except NumberParseException as exc:
        return Classified(normalised=stripped, problem=_parse_problem(detail_type, exc))
    national = phonenumbers.national_significant_number(number)
    country_code = number.country_code
    normalised = f"+{country_code}{national}"
    region = region_code_for_number(number) or ""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    kind = _number_type_helper(national, metadata) if region and metadata else PhoneNumberType.UNKNOWN
    problem = _phone_problem(detail_type, country_code, kind)
    return Classified(
        normalised=normalised,
        number_type=_TYPE_NAMES.get(kind, "unknown") if kind != PhoneNumberType.UNKNOWN else "",
        region=region if kind != PhoneNumberType.UNKNOWN else "",
        problem=problem,
        dummy=is_dummy_number(country_code, national),
    )


def _parse_problem(detail_type: str, exc: NumberParseException) -> str:
    if detail_type == "INTTEL" and exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return "Not a valid number outside the UK: it has no country code (give it as +33 ..., +1 ...)."
    return "Not a phone number: it could not be read as one."


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
