"""The worked examples of the HIN guidance (C06011 "HIN Reports", ../shared/seeds/002_*.txt) as tests.

Each builds the example's two years as files (previous year C22051, 2022/23; current year
C23051, 2023/24, whose reporting period starts 1 August 2023), runs the previous year through
the pipeline and approves it, runs the current year, and asserts exactly which HIN failures
(code, category) come out. Dates in the guidance are moved to these years keeping the story:
"before the reporting period" means before 1 August 2023. Fields an example leaves out keep
xmlbuild's defaults, which are equal in both years (so BIRTHDTE, POSTCODE and QUALAIM match
unless the example changes them).
"""

from collections import Counter

import pytest
from django.core.files.base import ContentFile

from collections_app.models import RuleFailure, RuleResult, Submission, SubmissionStatus

from ..factories import CollectionFactory, SubmissionFactory
from ..xmlbuild import VALID_HUSID, instance, student, student_record

PREVIOUS_RECID, CURRENT_RECID = "22051", "23051"
HIN_CODES = {
    "HIN1", "HIN2", "HIN3c", "HIN3d", "HIN3h", "HIN3j", "HIN3m", "HIN3q", "HIN3u",
    "HIN5a", "HIN5b", "HIN5c", "HIN6", "HIN7g", "HIN7h", "HIN8",
}  # fmt: skip


@pytest.fixture
def years(db):
    """(previous, current) collections: C22051 (2022/23) and C23051 (2023/24) linked to it."""
    previous = CollectionFactory(reference="C22051", name="Student record 2022/23", reporting_year=2022)
    current = CollectionFactory(reference="C23051", name="Student record 2023/24", reporting_year=2023)
    current.previous = previous
    current.save(update_fields=["previous"])
    return previous, current


def process(provider, user, collection, content: bytes) -> Submission:
    submission = SubmissionFactory(
        provider=provider, uploaded_by=user, collection=collection, file=ContentFile(content, name="r.xml")
    )
    from collections_app.pipeline.runner import submission_process

    submission_process(submission_id=submission.pk, task_id="t")
    submission.refresh_from_db()
    assert submission.status in ("passed", "failed"), (submission.status, submission.error_message)
    return submission


def approve_previous(provider, user, years, previous_students) -> Submission:
    submission = process(provider, user, years[0], student_record(*previous_students, recid=PREVIOUS_RECID))
    Submission.objects.filter(pk=submission.pk).update(status=SubmissionStatus.APPROVED)
    return submission


def two_years(provider, user, years, previous_students, current_students) -> Submission:
    """Approve the previous year's students, then process the current year's; the current submission."""
    approve_previous(provider, user, years, previous_students)
    return process(provider, user, years[1], student_record(*current_students, recid=CURRENT_RECID))


def hin_failures(submission) -> Counter:
    """Every HIN failure as (code, category number or None), counted."""
    found = Counter()
    for failure in RuleFailure.objects.filter(submission=submission, code__startswith="HIN"):
        category = int(failure.field.split()[1]) if failure.field.startswith("category ") else None
        found[(failure.code, category)] += 1
    return found


def expect(*failures) -> Counter:
    return Counter((code, category) for code, category in (f if isinstance(f, tuple) else (f, None) for f in failures))


def hin_rows(submission, code):
    return list(RuleFailure.objects.filter(submission=submission, code=code).order_by("line"))


@pytest.fixture
def run(provider, provider_user, years):
    """run(previous_students, current_students) -> the processed current submission."""

    def go(previous_students, current_students):
        submission = two_years(provider, provider_user, years, previous_students, current_students)
        # The linking stage ran every HIN check (a result row each, zero failures too).
        assert set(RuleResult.objects.filter(submission=submission, code__startswith="HIN").values_list(
            "code", flat=True)) == HIN_CODES  # fmt: skip
        return submission

    return go


# Section I: the HIN, and how HUSID and NUMHUS keep the link. ------------------------------------


def test_example_02_changing_husid_breaks_the_link(run):
    # A continuing student returned with another HUSID: the new record has no link (check 6) and
    # last year's live HIN has no record (check 7); BIRTHDTE/POSTCODE/QUALAIM pair them up.
    # (0000681234562 is the guidance's HUSID; it also fails the within-file check digit rule.)
    bsc = instance(NUMHUS="1", QUALAIM="21", PTITLE="BSc Maths")
    submission = run([student(bsc)], [student(bsc, HUSID="0000681234562")])
    assert hin_failures(submission) == expect(("HIN6", 1), ("HIN7g", 1))
    (row,) = hin_rows(submission, "HIN6")
    assert "set HUSID to 9811681234562 (now 0000681234562)" in row.message


def test_example_03_date_of_birth_differs_on_a_linked_record(run):
    submission = run(
        [student(instance(), BIRTHDTE="1974-12-06")],
        [student(instance(), BIRTHDTE="1974-06-12")],
    )
    assert hin_failures(submission) == expect("HIN5a")
    (row,) = hin_rows(submission, "HIN5a")
    assert row.value == "1974-06-12 (was 1974-12-06)" and "1974-12-06" in row.message and row.severity == "warning"


def test_example_06_changing_numhus_breaks_the_link(run):
    submission = run(
        [student(instance(NUMHUS="1", QUALAIM="21", PTITLE="BSc Maths"))],
        [student(instance(NUMHUS="2", QUALAIM="21", PTITLE="BSc Maths"))],
    )
    assert hin_failures(submission) == expect(("HIN6", 1), ("HIN7g", 1))
    (check6,) = hin_rows(submission, "HIN6")
    assert check6.numhus == "2" and check6.field == "category 1" and check6.severity == "error"
    assert "Category 1" in check6.message
    assert "set NUMHUS to 1 (now 2) on HUSID 9811681234562 to restore the link to BSc Maths (2022/23)" in (
        check6.message
    )
    (check7,) = hin_rows(submission, "HIN7g")
    assert check7.numhus == "1" and "incoming HUSID 9811681234562 NUMHUS 2" in check7.message


def test_example_07_changing_an_internal_numhus_code_breaks_the_link(run):
    # MPhil (QUALAIM 21 as printed) to PhD (02): the QUALAIMs differ, so no BPQ match either.
    submission = run(
        [student(instance(NUMHUS="100MPHIL", QUALAIM="21", PTITLE="MPhil Chemistry"))],
        [student(instance(NUMHUS="100PhD", QUALAIM="02", PTITLE="PhD Chemistry"))],
    )
    assert hin_failures(submission) == expect(("HIN6", 3), "HIN7h")
    (check7,) = hin_rows(submission, "HIN7h")
    assert check7.numhus == "100MPHIL" and "Return a record with HUSID 9811681234562 and NUMHUS 100MPHIL" in (
        check7.message
    )


def test_example_08_numhus_1_and_01_are_different(run):
    submission = run([student(instance(NUMHUS="1"))], [student(instance(NUMHUS="01"))])
    assert hin_failures(submission) == expect(("HIN6", 1), ("HIN7g", 1))


def test_example_09_numhus_100_mat_and_100__mat_are_different(run):
    submission = run([student(instance(NUMHUS="100.MAT"))], [student(instance(NUMHUS="100..MAT"))])
    assert hin_failures(submission) == expect(("HIN6", 1), ("HIN7g", 1))


# Section III: assigning NUMHUS. "Do not change NUMHUS" examples raise nothing. --------------------


def test_example_10_continuing_same_programme_same_numhus(run):
    bsc = instance(NUMHUS="1", QUALAIM="21", PTITLE="BSc Maths")
    submission = run([student(bsc)], [student(bsc)])
    assert hin_failures(submission) == expect()
    assert "Linked 1 of 1 records with C22051" in submission.stage_message


def test_example_11_transfer_changing_subject_same_numhus(run):
    submission = run(
        [student(instance(NUMHUS="1", QUALAIM="21", PTITLE="BSc Maths"))],
        [student(instance(NUMHUS="1", QUALAIM="21", PTITLE="BSc Physics"))],
    )
    assert hin_failures(submission) == expect()


def test_example_12_transfer_within_the_same_level_same_numhus(run):
    submission = run(
        [student(instance(NUMHUS="1", QUALAIM="21", PTITLE="BSc Maths"))],
        [student(instance(NUMHUS="1", QUALAIM="32", PTITLE="Cert Education"))],
    )
    assert hin_failures(submission) == expect()


def test_example_13_transfer_changing_qualification_aim_same_numhus(run):
    submission = run(
        [student(instance(NUMHUS="1", QUALAIM="41", PTITLE="HND Maths"))],
        [student(instance(NUMHUS="1", QUALAIM="21", PTITLE="BSc Maths"))],
    )
    assert hin_failures(submission) == expect()


def test_example_14_hnd_closed_and_degree_started(run):
    # Year 2 returns the HND closed off (linked) and the degree as a new instance this year.
    hnd = dict(NUMHUS="1", QUALAIM="41", PTITLE="HND Maths", COMDATE="2021-09-01")
    submission = run(
        [student(instance(**hnd))],
        [
            student(
                instance(**hnd, RSNLEAVE="01", DATELEFT="2023-07-31"),
                instance(NUMHUS="2", QUALAIM="32", PTITLE="BSc Maths", COMDATE="2023-09-01"),
            )
        ],
    )
    assert hin_failures(submission) == expect()


def test_example_15_hnd_completed_new_numhus_for_the_degree(run):
    submission = run(
        [
            student(
                instance(NUMHUS="1", QUALAIM="41", PTITLE="HND Maths", COMDATE="2021-09-01", RSNLEAVE="01",
                         DATELEFT="2023-06-30", QUAL1="41")
            )
        ],
        [student(instance(NUMHUS="2", QUALAIM="21", PTITLE="BSc Maths", COMDATE="2023-09-25"))],
    )  # fmt: skip
    assert hin_failures(submission) == expect()


def test_example_16_concurrent_programmes_keep_their_own_numhus(run):
    both = [
        instance(NUMHUS="1", QUALAIM="21", PTITLE="BSc Maths"),
        instance(NUMHUS="2", QUALAIM="61", PTITLE="Creative writing"),
    ]
    submission = run([student(*both)], [student(*both)])
    assert hin_failures(submission) == expect()
    assert "Linked 2 of 2 records" in submission.stage_message


def test_example_17_completed_then_another_programme_at_the_same_level(run):
    # A new NUMHUS is right here, but the guidance expects check 8 to ask whether this is really
    # the same programme (the closed Cert and the new one share BIRTHDTE, POSTCODE and QUALAIM).
    submission = run(
        [
            student(
                instance(NUMHUS="1", QUALAIM="32", PTITLE="Cert Maths", RSNLEAVE="01", DATELEFT="2023-06-30",
                         QUAL1="32")
            )
        ],
        [student(instance(NUMHUS="2", QUALAIM="32", PTITLE="Cert Religious Studies", COMDATE="2023-09-25"))],
    )  # fmt: skip
    assert hin_failures(submission) == expect("HIN8")


def test_example_18_completed_then_a_programme_at_a_different_level(run):
    submission = run(
        [
            student(
                instance(NUMHUS="1", QUALAIM="21", PTITLE="BSc Maths", COMDATE="2020-09-20", RSNLEAVE="01",
                         DATELEFT="2023-06-30", QUAL1="21")
            )
        ],
        [student(instance(NUMHUS="2", QUALAIM="05", PTITLE="MSc Maths", COMDATE="2023-09-25"))],
    )  # fmt: skip
    assert hin_failures(submission) == expect()


def test_example_19_normal_progression_mphil_to_phd_same_numhus(run):
    submission = run(
        [student(instance(NUMHUS="1", QUALAIM="04", PTITLE="MPhil Maths"))],
        [student(instance(NUMHUS="1", QUALAIM="02", PTITLE="PhD Maths"))],
    )
    assert hin_failures(submission) == expect()


def test_example_20_withdrawn_student_resumes_the_programme(run):
    # Closed off last year (RSNLEAVE 07, DATELEFT); re-opening the same HIN is a valid link.
    submission = run(
        [student(instance(NUMHUS="1", PTITLE="BSc Maths", COMDATE="2021-10-01", RSNLEAVE="07", DATELEFT="2023-07-21"))],
        [student(instance(NUMHUS="1", PTITLE="BSc Maths", COMDATE="2021-10-01"))],
    )
    assert hin_failures(submission) == expect()
    assert "Linked 1 of 1 records" in submission.stage_message


def test_example_21_withdrawn_student_returns_to_a_new_programme_same_numhus(run):
    submission = run(
        [student(instance(NUMHUS="1", PTITLE="BSc Maths", COMDATE="2021-10-01", RSNLEAVE="07", DATELEFT="2023-07-21"))],
        [student(instance(NUMHUS="1", PTITLE="BA History", COMDATE="2021-10-01"))],
    )
    assert hin_failures(submission) == expect()


# Section IV, report A: a HIN link, but the records disagree. -------------------------------------


def test_example_22_check_1_level_differs(run):
    submission = run(
        [student(instance(NUMHUS="1", QUALAIM="21", PTITLE="Applied Maths"))],
        [student(instance(NUMHUS="1", QUALAIM="08", PTITLE="Applied Maths"))],
    )
    assert hin_failures(submission) == expect("HIN1")
    (row,) = hin_rows(submission, "HIN1")
    assert row.field == "QUALAIM" and row.value == "08 (was 21)" and row.severity == "warning"
    assert "postgraduate" in row.message and "undergraduate" in row.message


def test_example_23_check_2_comdate_after_start_of_reporting_period(run):
    submission = run(
        [student(instance(NUMHUS="1", COMDATE="2021-10-01", PTITLE="Applied Maths"))],
        [student(instance(NUMHUS="1", COMDATE="2023-10-01", PTITLE="Applied Maths"))],
    )
    assert hin_failures(submission) == expect("HIN2")
    (row,) = hin_rows(submission, "HIN2")
    assert (
        row.value == "2023-10-01 (was 2021-10-01)"
        and "2023-08-01" in row.message
        and "restore COMDATE 2021-10-01" in row.message
    )


def test_example_24_check_3c_qualent2_differs(run):
    submission = run(
        [student(instance(NUMHUS="1", QUALENT2="40", PTITLE="Applied Maths"))],
        [student(instance(NUMHUS="1", QUALENT2="11", PTITLE="Applied Maths"))],
    )
    assert hin_failures(submission) == expect("HIN3c")
    (row,) = hin_rows(submission, "HIN3c")
    assert row.field == "QUALENT2" and row.value == "11 (was 40)" and "was 40" in row.message


def test_example_25_check_5b_gender_differs(run):
    submission = run(
        [student(instance(NUMHUS="1", PTITLE="Applied Maths"), GENDER="M")],
        [student(instance(NUMHUS="1", PTITLE="Applied Maths"), GENDER="F")],
    )
    assert hin_failures(submission) == expect("HIN5b")


# Report B (check 6): no HIN link for a record that began before the reporting period. ----------


def test_example_26_check_6_category_1_matched_to_a_live_record(run):
    # A new HUSID (the guidance's 9811681234938; its check digit is wrong too) and a changed
    # COMDATE: both records are reported, each naming the other.
    submission = run(
        [student(instance(NUMHUS="1", COMDATE="2021-10-01", PTITLE="BSc Maths"))],
        [student(instance(NUMHUS="1", COMDATE="2022-10-01", PTITLE="BSc Physics"), HUSID="9811681234938")],
    )
    assert hin_failures(submission) == expect(("HIN6", 1), ("HIN7g", 1))
    (row,) = hin_rows(submission, "HIN6")
    assert "set HUSID to 9811681234562 (now 9811681234938)" in row.message
    assert "restore the link to BSc Maths (2022/23)" in row.message
    assert "restore COMDATE 2021-10-01" in row.message


def test_example_27_check_6_category_2_matched_to_a_closed_record(run):
    # Dormant (MODE 63) PG Cert last year; this year an MSc with a new NUMHUS but the same
    # COMDATE, so a continuing student: check 6 category 2. The matched record was closed off, so
    # check 8 (which has no COMDATE condition) reports the same pair in report D.
    PG_CERT = "PG Cert Community Health"
    submission = run(
        [student(instance(NUMHUS="1", QUALAIM="05", MODE="63", COMDATE="2022-10-01", PTITLE=PG_CERT))],
        [student(instance(NUMHUS="2", QUALAIM="05", MODE="01", COMDATE="2022-10-01", PTITLE="MSc Public Health"))],
    )
    assert hin_failures(submission) == expect(("HIN6", 2), "HIN8")
    (row,) = hin_rows(submission, "HIN6")
    assert "closed off in 2022/23" in row.message
    assert "set NUMHUS to 1 (now 2) on HUSID 9811681234562 to restore the link to PG Cert Community Health" in (
        row.message
    )


# Report C (check 7): no incoming record for a HIN that was live last year. ---------------------


def test_example_28_check_7g_category_1_matched_to_a_continuing_record(run):
    submission = run(
        [student(instance(NUMHUS="1", QUALAIM="21", COMDATE="2020-10-01", PTITLE="Maths"))],
        [student(instance(NUMHUS="2", QUALAIM="21", COMDATE="2022-10-01", PTITLE="Physics"))],
    )
    # The same pair from both sides: the incoming record has no link (6) and last year's live
    # HIN has no record (7g).
    assert hin_failures(submission) == expect(("HIN7g", 1), ("HIN6", 1))
    (row,) = hin_rows(submission, "HIN7g")
    assert row.numhus == "1" and row.field == "category 1"


def test_example_29_check_7g_category_2_matched_to_a_record_with_a_current_year_comdate(run):
    submission = run(
        [student(instance(NUMHUS="1", QUALAIM="21", COMDATE="2022-10-01", PTITLE="Maths"))],
        [student(instance(NUMHUS="2", QUALAIM="21", COMDATE="2023-10-01", PTITLE="Physics"))],
    )
    assert hin_failures(submission) == expect(("HIN7g", 2))
    (row,) = hin_rows(submission, "HIN7g")
    # Reported on last year's record, naming this year's and the fix.
    assert (row.husid, row.numhus) == (VALID_HUSID, "1")
    assert row.instance_id // 10**7 == Submission.objects.get(collection__reference="C22051").pk
    assert "Category 2" in row.message and "Physics" in row.message
    assert "set NUMHUS to 1 (now 2) on HUSID 9811681234562 to restore the link to Maths (2022/23)" in row.message
    assert "restore COMDATE 2022-10-01" in row.message


# Report D (check 8): BIRTHDTE/POSTCODE/QUALAIM suggest a link to a closed record. --------------


def test_example_30_check_8_possible_link_to_a_closed_record(run):
    # As the guidance writes it, moved 19 years on: closed off last year (left, RSNLEAVE 07, no
    # qualification, DATELEFT 10 Jun), and an incoming record with a new NUMHUS whose COMDATE
    # (1 Oct 2020) is before the reporting period. Check 8 has no COMDATE condition: the record
    # is in report D, and (no link, began before the period, matches a closed record) in report B.
    submission = run(
        [
            student(
                instance(NUMHUS="1", COMDATE="2013-07-01", RSNLEAVE="07", DATELEFT="2023-06-10",
                         PTITLE="Business Studies")
            )
        ],
        [student(instance(NUMHUS="2", COMDATE="2020-10-01", PTITLE="Business Administration"))],
    )  # fmt: skip
    assert hin_failures(submission) == expect("HIN8", ("HIN6", 2))
    (row,) = hin_rows(submission, "HIN8")
    assert row.severity == "warning" and row.numhus == "2"
    assert "set NUMHUS to 1 (now 2) on HUSID 9811681234562 to restore the link to Business Studies (2022/23)" in (
        row.message
    )
    previous = Submission.objects.get(collection__reference="C22051")
    assert row.other_instance_id // 10**7 == previous.pk


def test_check_8_for_a_record_that_began_in_the_reporting_period(run):
    # The other half of report D: the closed instance replaced by one opened this year.
    submission = run(
        [
            student(
                instance(NUMHUS="1", COMDATE="2013-07-01", RSNLEAVE="07", DATELEFT="2023-06-10",
                         PTITLE="Business Studies")
            )
        ],
        [student(instance(NUMHUS="2", COMDATE="2023-10-01", PTITLE="Business Administration"))],
    )  # fmt: skip
    assert hin_failures(submission) == expect("HIN8")
