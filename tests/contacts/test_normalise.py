"""Normalising and classifying contact details: what each column says, and that the shortcuts
say exactly what email-validator and phonenumbers say."""

import importlib
import random

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from email_validator import syntax as email_syntax
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import SUPPORTED_REGIONS
from phonenumbers.phonenumberutil import _number_type_helper as library_type

from contacts.normalise import (
    DRAMA_PREFIXES,
    classify_email,
    classify_phone,
    is_dummy_number,
    is_role_mailbox,
    plain_valid_email,
    region_and_type,
    uk_national_number,
)
from contacts.normalise import _number_type_helper as our_type

# -- emails ----------------------------------------------------------------------------------


def test_an_email_is_compared_trimmed_and_lower_cased():
    found = classify_email("  P.Smith@Example.COM ")
    assert found.normalised == "p.smith@example.com"
    assert found.domain == "example.com"
    assert found.problem == "" and not found.role_mailbox


@pytest.mark.parametrize(
    "value,says",
    [
        ("p.smith.example.com", "must have an @-sign"),
        ("p.smith@@example.com", "invalid characters"),
        ("p.smith@example", "should have a period"),
        ("p smith@example.com", "invalid character"),
        ("p.smith@example.invalid", "special-use or reserved name"),
        (".p.smith@example.com", "period"),
    ],
)
def test_an_invalid_email_gets_email_validators_reason(value, says):
    found = classify_email(value)
    assert says in found.problem
    assert found.problem.endswith(".")
    with pytest.raises(EmailNotValidError) as exc:
        validate_email(value, check_deliverability=False, allow_smtputf8=True)
    assert found.problem.rstrip(".") == str(exc.value).rstrip(".")


@pytest.mark.parametrize(
    "local",
    ["info", "Admissions", "enquiries", "noreply", "no-reply", "no_reply", "careers", "alumni", "admin", "office",
     "contact", "support", "help", "sales", "hello", "webmaster", "postmaster", "student.services",
     "StudentServices", "info+uni"],
)  # fmt: skip
def test_role_mailboxes_are_flagged(local):
    found = classify_email(f"{local}@gmail.com")
    assert found.role_mailbox and found.problem == ""
    assert is_role_mailbox(local)


@pytest.mark.parametrize("local", ["information.smith", "p.smith", "infoman", "helen", "careersadviser2"])
def test_personal_addresses_are_not_role_mailboxes(local):
    assert not classify_email(f"{local}@gmail.com").role_mailbox


def _email_validator_alone(values):
    """What email-validator says of each value with its own helpers (not the memoised domain
    check and the plain-address split normalise installs)."""
    module = importlib.import_module("email_validator.validate_email")
    answers = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "split_email", email_syntax.split_email)
        patch.setattr(module, "validate_email_domain_name", email_syntax.validate_email_domain_name)
        for value in values:
            try:
                valid = validate_email(value, check_deliverability=False, allow_smtputf8=True)
                answers.append(("", valid.domain.lower()))
            except EmailNotValidError as exc:
                answers.append((str(exc), None))
    return answers


def test_the_email_shortcuts_agree_with_email_validator():
    """Plain addresses skip email-validator's character walk, and domains are checked once:
    the answer is the library's, valid or not, for every shape."""
    rng = random.Random(5)
    alphabet = 'abcXYZ019._+-@"<> (),;:\\[]é'
    samples = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 14))).strip() for _ in range(3000)]
    samples += [f"user{i}@{d}" for i in range(50) for d in ("gmail.com", "exämple.com", "x..y.com", "[1.2.3.4]")]
    # Plain addresses (the shortcut's own ground): dots, lengths at the limits, odd domains.
    domains = ["gmail.com", "Example.CO.UK", "xn--exmple-cua.com", "a.b", "-x.com", "x-.com", "localhost",
               "example.invalid", "1.2.3.4", "x" * 63 + ".com", "x" * 64 + ".com", "a." * 120 + "com"]  # fmt: skip
    for local in ["a", "p.smith", ".p", "p.", "p..q", "a+b", "x" * 64, "x" * 65, "x" * 200, "o'neill", "a/b=c"]:
        samples += [f"{local}@{domain}" for domain in domains]
    samples = [s for s in samples if s]
    assert sum(plain_valid_email(value) is not None for value in samples) > 60  # the shortcut is exercised
    for value, expected in zip(samples, _email_validator_alone(samples), strict=True):
        found = classify_email(value)
        assert found.problem.rstrip(".") == expected[0].rstrip("."), value
        if expected[1] is not None:
            assert found.domain == expected[1], value


# -- phones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "element,value,normalised,number_type,region",
    [
        ("UKMOB", "07400 123456", "+447400123456", "mobile", "GB"),
        ("UKMOB", "+44 7400 123456", "+447400123456", "mobile", "GB"),
        ("UKMOB", "(07400) 123-456", "+447400123456", "mobile", "GB"),
        ("UKTEL", "01242 714000", "+441242714000", "fixed_line", "GB"),
        ("UKTEL", "020 3123 4567", "+442031234567", "fixed_line", "GB"),
        ("INTTEL", "+33 6 12 34 56 78", "+33612345678", "mobile", "FR"),
        ("INTTEL", "+1 212 555 0199", "+12125550199", "fixed_line_or_mobile", "US"),
    ],
)
def test_valid_numbers_are_normalised_to_e164(element, value, normalised, number_type, region):
    found = classify_phone(element, value)
    assert (found.normalised, found.number_type, found.region, found.problem) == (
        normalised,
        number_type,
        region,
        "",
    )


@pytest.mark.parametrize(
    "element,value,says",
    [
        ("UKMOB", "01242 714000", "Not a valid UK mobile number: it is a UK fixed line number."),
        ("UKMOB", "07400 1234", "Not a valid UK mobile number."),
        ("UKMOB", "+33 6 12 34 56 78", "Not a valid UK mobile number: it is a non-UK mobile number."),
        ("UKMOB", "call me", "Not a valid UK mobile number: it could not be read as a phone number."),
        ("UKTEL", "07400 123456", "Not a valid UK landline number: it is a UK mobile number."),
        ("UKTEL", "0800 123 4567", "Not a valid UK landline number: it is a UK toll free number."),
        ("UKTEL", "0909 123 4567", "Not a valid UK landline number: it is a UK premium rate number."),
        ("INTTEL", "06 12 34 56 78", "it has no country code"),
        ("INTTEL", "+44 7400 123456", "it is a UK number"),
        ("INTTEL", "+33 1", "Not a valid number outside the UK"),
    ],
)
def test_a_number_not_valid_for_its_element_says_why(element, value, says):
    found = classify_phone(element, value)
    assert says in found.problem


@pytest.mark.parametrize(
    "element,value",
    [
        ("UKMOB", "07700 900000"),
        ("UKMOB", "07700 900999"),
        ("UKTEL", "01632 960123"),
        ("UKTEL", "020 7946 0000"),
        ("UKTEL", "0113 496 0999"),
        ("UKTEL", "0161 496 0500"),
        ("UKTEL", "0191 498 0123"),
        ("UKTEL", "028 9649 6000"),
        ("UKTEL", "028 9649 6999"),
        ("UKTEL", "029 2018 0456"),
        ("UKTEL", "0306 999 0123"),
        ("UKTEL", "0808 157 0123"),
        ("UKTEL", "0909 879 0123"),
        ("UKMOB", "07777 777777"),
        ("UKTEL", "01111 111111"),
        ("INTTEL", "+33 6 66 66 66 66"),
    ],
)
def test_drama_and_repeated_digit_numbers_are_dummies(element, value):
    assert classify_phone(element, value).dummy


@pytest.mark.parametrize(
    "value", ["07700 901000", "07700 899999", "01632 961000", "020 7947 0000", "0161 496 1000", "028 9649 7000"]
)
def test_numbers_next_to_the_drama_ranges_are_not_dummies(value):
    assert not classify_phone("UKTEL", value).dummy


def test_drama_prefixes_are_blocks_of_a_thousand():
    assert len(DRAMA_PREFIXES) == 20 and all(len(prefix) == 7 for prefix in DRAMA_PREFIXES)
    assert is_dummy_number(44, "2896496123") and not is_dummy_number(33, "7700900123")


def _library(element: str, value: str):
    try:
        number = phonenumbers.parse(value.strip(), None if element == "INTTEL" else "GB")
    except phonenumbers.NumberParseException:
        return None
    return (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.number_type(number),
        phonenumbers.is_valid_number(number),
        phonenumbers.region_code_for_number(number) if phonenumbers.is_valid_number(number) else "",
    )


def test_the_phone_shortcuts_agree_with_phonenumbers():
    """UK numbers written plainly skip the general parser, and region and type are found once:
    on random numbers of every shape, the answers are phonenumbers' own."""
    rng = random.Random(11)
    samples = []
    for _ in range(4000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(6, 14)))
        spaced = " ".join(digits[i : i + rng.randrange(2, 6)] for i in range(0, len(digits), 4))
        samples += [
            ("UKMOB", "0" + digits[:10]),
            ("UKTEL", "0" + digits[:10]),
            ("UKMOB", spaced),
            ("UKTEL", "+44" + digits[:10]),
            ("INTTEL", "+" + digits),
            ("INTTEL", "+44 " + spaced),
            ("UKMOB", "00" + digits),
        ]
    shortcut = 0
    for element, value in samples:
        found = classify_phone(element, value)
        expected = _library(element, value)
        shortcut += uk_national_number(value, uk_element=element != "INTTEL") is not None
        if expected is None:
            assert found.problem and not found.number_type, (element, value)
            continue
        e164, kind, valid, region = expected
        assert found.normalised == e164, (element, value)
        assert found.region == (region or ""), (element, value)
        assert (found.number_type != "") == valid, (element, value)
        if valid:
            assert found.number_type == phonenumbers.PhoneNumberType.to_string(kind).lower(), (element, value)
            assert region_and_type(int(e164[1:3]) if e164.startswith("+44") else 0, "")[0] in ("", "GB")
    assert shortcut > 5000  # the shortcut was exercised, not just the parser


def test_the_phone_type_is_phonenumbers_own_in_every_region():
    """The joined patterns give _number_type_helper's answer, for random national numbers of
    every length in every region phonenumbers knows."""
    rng = random.Random(3)
    compared = 0
    for region in sorted(SUPPORTED_REGIONS):
        metadata = PhoneMetadata.metadata_for_region(region)
        for size in range(4, 14):
            for _ in range(12):
                number = "".join(rng.choice("0123456789") for _ in range(size))
                assert our_type(number, metadata) == library_type(number, metadata), (region, number)
                compared += 1
        # And numbers the region really has: its example numbers, one per type.
        for name in ("fixed_line", "mobile", "toll_free", "premium_rate", "voip", "uan", "pager", "personal_number"):
            desc = getattr(metadata, name)
            if desc is not None and desc.example_number:
                example = desc.example_number
                for variant in [example] + [example[:-3] + f"{rng.randrange(1000):03d}" for _ in range(5)]:
                    assert our_type(variant, metadata) == library_type(variant, metadata), (region, variant)
    assert compared > 20_000
