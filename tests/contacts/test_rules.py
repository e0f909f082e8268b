"""The Graduate Outcomes contact details quality rules (contacts/rules.py), each failing and
passing on examples from the spec's "Quality rules" table, run through the rules engine."""

from datetime import date

import pytest

from collections_app.models import RuleResult, Severity, SubmissionStatus
from collections_app.rules import all_rules, get_rule
from contacts.models import PopulationBuild, PopulationEntry, SharedDetailReason
from contacts.rules import switchboard_e164
from review.selectors import collection_tolerances

from .rule_helpers import ContactFile, contact_collection, email, husid, inttel, ukmob, uktel

# Every test below names the codes it checks; the registry must hold exactly these.
TESTED = {
    "GO.POP.01",
    "GO.POP.02",
    "GO.EMAIL.01",
    "GO.EMAIL.04",
    "GO.EMAIL.05",
    "GO.EMAIL.09",
    "GO.EMAIL.10",
    "GO.EMAIL.11",
    "GO.EMAIL.12",
    "GO.EMAIL.13",
    "GO.EMAIL.14",
    "GO.PHONE.01",
    "GO.PHONE.02",
    "GO.PHONE.03",
    "GO.PHONE.04",
    "GO.PHONE.05",
    "GO.PHONE.06",
}

H = [husid(n) for n in range(100)]


@pytest.fixture
def cohort_a(db):
    return contact_collection(reporting_year=2023, cohort="A")


@pytest.fixture
def file(provider, cohort_a):
    return ContactFile(provider, cohort_a)


def husids(found, code):
    return [f.husid for f in found.get(code, [])]


def values(found, code):
    return [f.value for f in found.get(code, [])]


def test_every_contact_rule_is_tested_and_documented():
    rules = [r for r in all_rules() if r.record_kind == "contact_details"]
    assert {r.code for r in rules} == TESTED
    for r in rules:
        assert r.description and r.title and r.stage == "rules"
        assert r.applies_to == ("file" if r.code in ("GO.EMAIL.13", "GO.EMAIL.14") else "instance")
    warnings = {r.code for r in rules if r.severity == Severity.WARNING}
    assert warnings == {"GO.EMAIL.01", "GO.EMAIL.09", "GO.EMAIL.14"}


def test_a_clean_file_passes_every_rule_and_failures_point_at_no_student_record_rows(file):
    file.graduate(H[1], email("pat@example.com"), ukmob("07911 123456"))
    file.graduate(H[2], email("sam@example.org"), uktel("01242 123456"))
    file.graduate(H[3], email("lee@example.net"), inttel("+33 6 12 34 56 78"), homeeuos="2")
    file.graduate(H[4], gradstatus="01")
    found = file.run()
    assert found == {}
    results = RuleResult.objects.filter(submission=file.submission)
    assert {r.code for r in results} == TESTED
    assert all(r.failure_count == 0 for r in results)


def test_failures_name_no_student_record_row(file):
    file.graduate(H[1], in_population=False)
    found = file.run()
    rows = [f for rows in found.values() for f in rows]
    assert rows and all(f.instance_id is None and f.student_id is None for f in rows)


# -- population ------------------------------------------------------------------------------


def test_pop_01_graduate_not_in_the_population(file):
    file.graduate(H[1], email("a@example.com"))
    file.graduate(H[2], email("b@example.com"), in_population=False)
    file.graduate(H[1], email("c@example.com"), numhus="2", in_population=False)  # same HUSID, other NUMHUS
    found = file.run()
    assert [(f.husid, f.numhus) for f in found["GO.POP.01"]] == [(H[2], "1"), (H[1], "2")]
    first = found["GO.POP.01"][0]
    assert first.line == 5 and first.value == f"{H[2]}/1"
    assert "not in this cohort's population" in first.message


def test_pop_02_population_graduate_missing_from_the_file(file, other_provider, cohort_a):
    # Neither an old build nor another provider's population counts.
    old = PopulationBuild.objects.create(
        provider=file.provider, collection=cohort_a, source_submission=file.submission, is_current=False
    )
    PopulationEntry.objects.create(
        build=old, husid=H[5], numhus="1", fnames="Old", surname="Entry", qual1="BA",
        dateleft=date(2023, 9, 30), homeeuos="1",
    )  # fmt: skip
    other = ContactFile(other_provider, cohort_a)
    other.population_only(H[4])
    other.save()
    file.graduate(H[1], email("a@example.com"))
    file.population_only(H[3], numhus="2", fnames="Ann", surname="Jones")
    found = file.run()
    (row,) = found["GO.POP.02"]
    assert (row.husid, row.numhus, row.line, row.value) == (H[3], "2", None, f"{H[3]}/2")
    assert "(Ann Jones) is in this cohort's population but has no Graduate in the file" in row.message
    assert husids(found, "GO.POP.01") == []


def test_pop_02_passes_when_every_population_graduate_is_returned(file):
    file.graduate(H[1], email("a@example.com"))
    file.graduate(H[2], gradstatus="02")
    assert "GO.POP.02" not in file.run()


# -- emails ----------------------------------------------------------------------------------


def test_email_01_and_04_graduates_without_email(file):
    file.graduate(H[1], ukmob("07911 123456"))  # phone, no email: 01
    file.graduate(H[2], ukmob("07911 123457"), email("b@example.com"))
    file.graduate(H[3])  # nothing at all: 04
    file.graduate(H[4], gradstatus="02")  # nothing, but says why
    file.graduate(H[5], uktel("01242 123456"), uktel("01242 123457"))  # two phones: 01
    found = file.run()
    assert husids(found, "GO.EMAIL.01") == [H[1], H[5]]
    assert "has 2 phone numbers but no email address" in found["GO.EMAIL.01"][1].message
    assert husids(found, "GO.EMAIL.04") == [H[3]]
    assert found["GO.EMAIL.04"][0].field == "GRADSTATUS"


def test_email_05_contact_details_with_a_gradstatus(file):
    file.graduate(H[1], email("a@example.com"), gradstatus="01")
    file.graduate(H[2], ukmob("07911 123456"), uktel("01242 123456"), gradstatus="03")
    file.graduate(H[3], gradstatus="02")
    file.graduate(H[4], email("d@example.com"))
    found = file.run()
    assert [(f.husid, f.value) for f in found["GO.EMAIL.05"]] == [(H[1], "01"), (H[2], "03")]
    assert "GRADSTATUS 03 (serious illness) and 2 contact details" in found["GO.EMAIL.05"][1].message
    assert husids(found, "GO.EMAIL.01") == []  # a graduate with GRADSTATUS is not asked for an email


def test_email_09_only_provider_domain_emails(file, provider):
    provider.email_domains = ["Glos.ac.uk", "@students.glos.ac.uk"]
    provider.save()
    file.graduate(H[1], email("a@glos.ac.uk"))
    file.graduate(H[2], email("B@Connect.GLOS.ac.uk"), email("b@students.glos.ac.uk"))  # subdomains
    file.graduate(H[3], email("c@glos.ac.uk"), email("c@gmail.com"))  # a personal one too
    file.graduate(H[4], email("d@notglos.ac.uk"))  # ends with the name, but another domain
    file.graduate(H[5], ukmob("07911 123456"))  # no email at all: GO.EMAIL.01's business
    found = file.run()
    assert husids(found, "GO.EMAIL.09") == [H[1], H[2]]
    assert values(found, "GO.EMAIL.09") == ["glos.ac.uk", "connect.glos.ac.uk"]
    assert "the provider's own domain (glos.ac.uk)" in found["GO.EMAIL.09"][0].message
    assert get_rule("GO.EMAIL.09").tolerance.percent == 10


def test_email_09_provider_without_domains_never_fails(file, provider):
    provider.email_domains = []
    provider.save()
    file.graduate(H[1], email("a@glos.ac.uk"))
    assert "GO.EMAIL.09" not in file.run()


def _reason(provider, collection, family, normalised, user):
    return SharedDetailReason.objects.create(
        provider=provider,
        collection=collection,
        family=family,
        normalised=normalised,
        reason=SharedDetailReason.Reason.FAMILY_EMAIL,
        recorded_by=user,
    )


def test_email_10_the_same_email_for_several_graduates(file, provider, cohort_a):
    file.graduate(H[1], email("Family@Example.com"))
    file.graduate(H[2], email(" family@example.com "))
    file.graduate(H[3], email("FAMILY@example.com"), email("own@example.com"))
    file.graduate(H[4], email("own4@example.com"))
    found = file.run()
    assert husids(found, "GO.EMAIL.10") == [H[1], H[2], H[3]]
    assert values(found, "GO.EMAIL.10") == ["Family@Example.com", " family@example.com ", "FAMILY@example.com"]
    assert "is also given for 2 other graduates in this file" in found["GO.EMAIL.10"][0].message


def test_email_10_another_submission_is_not_this_cohorts_file(file, provider, other_provider, cohort_a):
    file.graduate(H[1], email("family@example.com"))
    file.save()
    other = ContactFile(other_provider, cohort_a)
    other.graduate(H[2], email("family@example.com"))
    other.save()
    assert "GO.EMAIL.10" not in file.run()


def test_email_10_a_recorded_reason_clears_the_shared_email(file, provider, other_provider, cohort_a):
    file.graduate(H[1], email("family@example.com"))
    file.graduate(H[2], email("family@example.com"))
    file.graduate(H[3], email("twins@example.com"))
    file.graduate(H[4], email("twins@example.com"))
    user = file.submission.uploaded_by
    _reason(provider, cohort_a, "email", "family@example.com", user)
    # Reasons for another family, collection or provider clear nothing here.
    _reason(provider, cohort_a, "phone", "twins@example.com", user)
    _reason(provider, contact_collection(cohort="B"), "email", "twins@example.com", user)
    _reason(other_provider, cohort_a, "email", "twins@example.com", user)
    found = file.run()
    assert husids(found, "GO.EMAIL.10") == [H[3], H[4]]


def _approved_file(provider, collection, *graduates):
    earlier = ContactFile(provider, collection, status=SubmissionStatus.APPROVED)
    for husid_, address in graduates:
        earlier.graduate(husid_, email(address))
    return earlier.save()


def test_email_11_an_email_given_for_another_graduate_in_an_earlier_cohort(provider, other_provider, cohort_a):
    earlier_year = contact_collection(reporting_year=2022, cohort="D")
    _approved_file(other_provider, earlier_year, (H[50], "Agent@Recruiters.example"), (H[2], "mine@example.com"))
    _approved_file(provider, contact_collection(reporting_year=2022, cohort="B"), (H[51], "old@example.com"))
    current = ContactFile(provider, cohort_a)
    current.graduate(H[1], email("agent@recruiters.example"))  # another HUSID, other provider: fails
    current.graduate(H[2], email("MINE@example.com"))  # the same HUSID had it before: passes
    current.graduate(H[3], email("old@example.com"))  # another HUSID, this provider: fails
    current.graduate(H[4], email("new@example.com"))
    found = current.run()
    assert husids(found, "GO.EMAIL.11") == [H[1], H[3]]
    for row in found["GO.EMAIL.11"]:
        assert "was given for a different graduate in an earlier cohort" in row.message
        for secret in (other_provider.name, other_provider.ukprn, other_provider.instid, H[50], H[51], "2022"):
            assert secret not in row.message
            assert secret not in row.value


def test_email_11_earlier_means_an_approved_earlier_cohort(provider, other_provider, cohort_a):
    # Same year, later cohort; same cohort; an earlier cohort's upload that was never approved.
    _approved_file(other_provider, contact_collection(reporting_year=2023, cohort="B"), (H[50], "a@example.com"))
    _approved_file(other_provider, cohort_a, (H[51], "b@example.com"))
    unapproved = ContactFile(other_provider, contact_collection(reporting_year=2022, cohort="D"))
    unapproved.submission.status = SubmissionStatus.SUPERSEDED
    unapproved.submission.save()
    unapproved.graduate(H[52], email("c@example.com"))
    unapproved.save()
    current = ContactFile(provider, cohort_a)
    current.graduate(H[1], email("a@example.com"))
    current.graduate(H[2], email("b@example.com"))
    current.graduate(H[3], email("c@example.com"))
    assert "GO.EMAIL.11" not in current.run()


def test_email_11_an_earlier_cohort_of_the_same_year(provider, other_provider):
    _approved_file(other_provider, contact_collection(reporting_year=2023, cohort="A"), (H[50], "a@example.com"))
    current = ContactFile(provider, contact_collection(reporting_year=2023, cohort="C"))
    current.graduate(H[1], email("a@example.com"))
    found = current.run()
    assert husids(found, "GO.EMAIL.11") == [H[1]]


def test_email_12_not_a_valid_personal_address(file):
    file.graduate(H[1], email("pat@@example", problem="The email address has more than one @."))
    file.graduate(H[2], email("admissions@example.com", role_mailbox=True))
    file.graduate(H[3], email("pat.smith@example.com"))
    found = file.run()
    assert husids(found, "GO.EMAIL.12") == [H[1], H[2]]
    bad, role = found["GO.EMAIL.12"]
    assert bad.message == (
        "EMAIL pat@@example is not a valid email address: The email address has more than one @. "
        "Correct it or remove it."
    )
    assert "admissions@example.com is a role or generic mailbox" in role.message
    assert (role.field, role.value) == ("EMAIL", "admissions@example.com")


def _overseas(file, total, with_email, start=0):
    for n in range(start, start + total):
        details = [email(f"g{n}@example.com")] if n - start < with_email else [ukmob(f"07911 {100000 + n}")]
        file.graduate(husid(n), *details, homeeuos="3")


@pytest.mark.parametrize(
    ("total", "with_email", "fails"),
    [
        (50, 47, True),  # 94%: 48 of 50 needed (95% of 50 is 47.5)
        (50, 48, False),  # 96%
        (60, 56, True),  # 93.3%
        (60, 57, False),  # exactly 95%
        (49, 0, False),  # fewer than 50 overseas graduates: not checked
    ],
)
def test_email_13_overseas_email_coverage(file, total, with_email, fails):
    _overseas(file, total, with_email)
    found = file.run()
    if not fails:
        assert "GO.EMAIL.13" not in found
        return
    (row,) = found["GO.EMAIL.13"]
    assert (row.line, row.husid, row.numhus) == (None, "", "")
    assert row.value == f"{with_email} of {total}"
    needed = {50: 48, 60: 57}[total]
    assert f"Only {with_email} of the {total} overseas graduates" in row.message
    assert f"at least 95% ({needed}) must" in row.message


def test_email_13_counts_only_overseas_graduates_without_gradstatus(file):
    _overseas(file, 50, 48)
    # Neither UK graduates without email nor overseas graduates with a GRADSTATUS count.
    for n in range(60, 70):
        file.graduate(husid(n), ukmob(f"07911 {100000 + n}"), homeeuos="1")
    for n in range(70, 80):
        file.graduate(husid(n), gradstatus="02", homeeuos="3")
    assert "GO.EMAIL.13" not in file.run()


def _own_share(file, provider, total, own):
    provider.email_domains = ["glos.ac.uk"]
    provider.save()
    for n in range(total):
        domain = "glos.ac.uk" if n < own else "example.com"
        file.graduate(husid(n), email(f"g{n}@{domain}"))


@pytest.mark.parametrize(
    ("total", "own", "fails"),
    [
        (50, 5, False),  # exactly 10%
        (50, 6, True),  # 12%
        (55, 5, False),  # 9.1%
        (55, 6, True),  # 10.9%
        (49, 49, False),  # fewer than 50 graduates: not checked
    ],
)
def test_email_14_share_of_provider_domain_emails(file, provider, total, own, fails):
    _own_share(file, provider, total, own)
    found = file.run()
    assert len(found.get("GO.EMAIL.09", [])) == own
    if not fails:
        assert "GO.EMAIL.14" not in found
        return
    (row,) = found["GO.EMAIL.14"]
    assert (row.line, row.husid, row.value) == (None, "", f"{own} of {total}")
    assert f"{own} of the {total} graduates have email addresses only at the provider's own domains" in row.message
    assert f"more than 10% (at most {total // 10})" in row.message


# -- phones ----------------------------------------------------------------------------------


def test_phone_01_02_03_invalid_numbers_per_element(file):
    # `problem` as contacts.normalise writes it: a sentence of its own, naming what the value is not.
    file.graduate(H[1], email("a@example.com"), ukmob("07911 12345", problem="Not a valid UK mobile number."))
    landline = "Not a valid UK landline number: it is a UK mobile number."
    outside = "Not a valid number outside the UK: it is a UK number (give it as UKMOB or UKTEL)."
    file.graduate(H[2], email("b@example.com"), uktel("07911 123456", problem=landline))
    file.graduate(H[3], email("c@example.com"), inttel("+44 1242 123456", problem=outside))
    file.graduate(H[4], email("d@example.com"), ukmob("07911 123456"), uktel("01242 123456"))
    file.graduate(H[5], email("e@example.com"), inttel("+33 6 12 34 56 78"), homeeuos="2")
    found = file.run()
    assert [(f.husid, f.field, f.value) for f in found["GO.PHONE.01"]] == [(H[1], "UKMOB", "07911 12345")]
    assert (
        found["GO.PHONE.01"][0].message == "UKMOB 07911 12345: Not a valid UK mobile number. Correct it or remove it."
    )
    assert husids(found, "GO.PHONE.02") == [H[2]]
    assert found["GO.PHONE.02"][0].message == (
        "UKTEL 07911 123456: Not a valid UK landline number: it is a UK mobile number. Correct it or remove it."
    )
    assert husids(found, "GO.PHONE.03") == [H[3]]
    assert "+44 1242 123456: Not a valid number outside the UK: it is a UK number" in found["GO.PHONE.03"][0].message


def test_phone_04_inttel_for_an_overseas_graduate(file):
    file.graduate(H[1], email("a@example.com"), inttel("+86 138 0013 8000"), homeeuos="3")
    file.graduate(H[2], email("b@example.com"), inttel("+33 6 12 34 56 78"), homeeuos="2")
    file.graduate(H[3], email("c@example.com"), ukmob("07911 123456"), homeeuos="3")
    file.graduate(H[4], email("d@example.com"), inttel("+1 202 555 0143"), homeeuos="4")
    found = file.run()
    assert [(f.husid, f.value) for f in found["GO.PHONE.04"]] == [(H[1], "+86 138 0013 8000")]
    assert "overseas graduate (HOMEEUOS 3)" in found["GO.PHONE.04"][0].message


def test_phone_05_switchboard_and_dummy_numbers(file, provider):
    provider.switchboard_numbers = ["+44 (0)1242 714000", "01242714700", "not a number"]
    provider.save()
    file.graduate(H[1], email("a@example.com"), uktel("01242 714000"))
    file.graduate(H[2], email("b@example.com"), uktel("+44 1242 714700"))
    file.graduate(H[3], email("c@example.com"), ukmob("07700 900123", dummy=True))
    file.graduate(H[4], email("d@example.com"), uktel("01242 714001"))
    found = file.run()
    assert husids(found, "GO.PHONE.05") == [H[1], H[2], H[3]]
    sw, sw2, dummy = found["GO.PHONE.05"]
    assert "UKTEL 01242 714000 is the provider's own switchboard number" in sw.message
    assert "is the provider's own switchboard number" in sw2.message
    assert "UKMOB 07700 900123 is a dummy or fictitious number" in dummy.message


def test_switchboard_numbers_are_compared_in_e164():
    assert switchboard_e164(["01242 714000", "+44 (0)1242 714000", "+33 1 23 45 67 89", "call us", None]) == [
        "+33123456789",
        "+441242714000",
    ]


def test_phone_05_provider_without_switchboards(file, provider):
    provider.switchboard_numbers = []
    provider.save()
    file.graduate(H[1], email("a@example.com"), uktel("01242 714000"))
    assert "GO.PHONE.05" not in file.run()


def test_phone_06_the_same_number_for_several_graduates(file):
    file.graduate(H[1], email("a@example.com"), uktel("01242 123456"))
    file.graduate(H[2], email("b@example.com"), inttel("+44 1242 123456"))  # the same number, as INTTEL
    file.graduate(H[3], email("c@example.com"), ukmob("07911 123456"), uktel("01242 654321"))
    file.graduate(H[4], email("d@example.com"), ukmob("07911 123456"))
    file.graduate(H[5], email("e@example.com"), uktel("01242 999999"))
    found = file.run()
    assert [(f.husid, f.field, f.value) for f in found["GO.PHONE.06"]] == [
        (H[1], "UKTEL", "01242 123456"),
        (H[2], "INTTEL", "+44 1242 123456"),
        (H[3], "UKMOB", "07911 123456"),
        (H[4], "UKMOB", "07911 123456"),
    ]
    assert "is also given for another graduate in this file" in found["GO.PHONE.06"][0].message
    assert "GO.EMAIL.10" not in found


def test_phone_06_a_recorded_reason_clears_the_shared_number(file, provider, cohort_a):
    file.graduate(H[1], email("a@example.com"), uktel("01242 123456"))
    file.graduate(H[2], email("b@example.com"), uktel("01242 123456"))
    file.graduate(H[3], email("c@example.com"), ukmob("07911 123456"))
    file.graduate(H[4], email("d@example.com"), ukmob("07911 123456"))
    user = file.submission.uploaded_by
    _reason(provider, cohort_a, "phone", "+441242123456", user)
    _reason(provider, cohort_a, "email", "+447911123456", user)  # the wrong family clears nothing
    found = file.run()
    assert husids(found, "GO.PHONE.06") == [H[3], H[4]]


def test_rerunning_the_rules_stores_each_failure_once(file):
    file.graduate(H[1], in_population=False)
    file.save()
    file.run()
    found = file.run()
    assert husids(found, "GO.POP.01") == [H[1]]
    assert husids(found, "GO.EMAIL.04") == [H[1]]


def test_pop_01_without_a_population_every_graduate_fails_saying_so(file):
    file.graduate(H[1], email("a@example.com"), in_population=False)
    file.graduate(H[2], email("b@example.com"), in_population=False)
    found = file.run()
    assert husids(found, "GO.POP.01") == [H[1], H[2]]
    assert "no population has been built for this provider and cohort yet" in found["GO.POP.01"][0].message
    assert "GO.POP.02" not in found


def test_the_tolerance_screen_lists_the_contact_warnings_with_their_defaults(cohort_a):
    rows = collection_tolerances(collection=cohort_a)
    assert [(r.code, r.applies_to, str(r.default)) for r in rows] == [
        ("GO.EMAIL.01", "instance", "up to 5% of records"),
        ("GO.EMAIL.09", "instance", "up to 10% of records"),
        ("GO.EMAIL.14", "file", "0% – any warning blocks approval"),
    ]
