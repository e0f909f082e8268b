"""Each within-submission rule of ../shared/spec/student-record.md: one failing, one passing file."""

import pytest
from django.core.files.base import ContentFile

from collections_app.models import RuleFailure
from collections_app.pipeline.runner import submission_process
from collections_app.rules import all_rules, get_rule
from student_record.sample_data import husid_check_digit, make_husid

from ..factories import SubmissionFactory
from ..xmlbuild import VALID_HUSID, instance, student, student_record

OTHER_HUSID = "9811681234573"  # valid: a second person


def failures(provider, user, collection, content, code):
    submission = SubmissionFactory(
        provider=provider, uploaded_by=user, collection=collection, file=ContentFile(content, name="r.xml")
    )
    submission_process(submission_id=submission.pk, task_id="t")
    submission.refresh_from_db()
    assert submission.status in ("passed", "failed"), (submission.status, submission.error_message)
    return list(RuleFailure.objects.filter(submission=submission, code=code).order_by("line"))


def test_husid_check_digit_matches_the_spec_example():
    # 9811681234562: S = 9*1 + 8*3 + 1*7 + 1*9 + 6*1 + 8*3 + 1*7 + 2*9 + 3*1 + 4*3 + 5*7 + 6*9 = 208
    assert husid_check_digit("981168123456") == 2
    assert make_husid(2023, "0168", 42)[-1] == str(husid_check_digit(make_husid(2023, "0168", 42)[:12]))
    assert OTHER_HUSID[-1] == str(husid_check_digit(OTHER_HUSID[:12]))


CASES = {
    "SR.HUSID.01": (
        student_record(student(HUSID="9811681234563")),
        student_record(student(HUSID=VALID_HUSID)),
    ),
    "SR.HIN.01": (
        student_record(student(instance(NUMHUS="1"), instance(NUMHUS="1", PTITLE="MSc Maths", QUALAIM="05"))),
        # "1" and "01" are different NUMHUS values, so these are two HINs.
        student_record(student(instance(NUMHUS="1"), instance(NUMHUS="01", PTITLE="MSc Maths", QUALAIM="05"))),
    ),
    "SR.INSTID.01": (
        student_record(student(), instid="0999"),
        student_record(student(), instid="0168"),
    ),
    "SR.STUDENT.01": (
        # Example 3 of the HIN guidance: 06/12/1974 against 12/06/1974 for one HUSID.
        student_record(
            student(instance(NUMHUS="1"), BIRTHDTE="1974-12-06"),
            student(instance(NUMHUS="2"), BIRTHDTE="1974-06-12"),
        ),
        student_record(
            student(instance(NUMHUS="1"), BIRTHDTE="1974-12-06"),
            student(instance(NUMHUS="2"), BIRTHDTE="1974-12-06"),
        ),
    ),
    "SR.STUDENT.02": (
        student_record(student(HUSID=VALID_HUSID), student(HUSID=OTHER_HUSID)),
        student_record(student(HUSID=VALID_HUSID), student(HUSID=OTHER_HUSID, BIRTHDTE="1980-01-01")),
    ),
    "SR.DATE.01": (
        student_record(student(instance(COMDATE="2003-10-01", RSNLEAVE="01", DATELEFT="2003-07-21"))),
        student_record(student(instance(COMDATE="2003-10-01", RSNLEAVE="01", DATELEFT="2004-07-21"))),
    ),
    "SR.DATE.02": (
        student_record(
            student(instance(NUMHUS="1", RSNLEAVE="01")),
            student(instance(NUMHUS="1", DATELEFT="2004-07-21"), HUSID=OTHER_HUSID, FNAMES="Ann"),
        ),
        student_record(student(instance(RSNLEAVE="01", DATELEFT="2004-07-21"))),
    ),
}


def test_every_registered_student_record_rule_has_a_case():
    codes = {r.code for r in all_rules() if r.record_kind == "student_record" and r.stage == "rules"}
    assert codes == set(CASES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fails_on_the_failing_example(code, provider, provider_user, collection):
    rows = failures(provider, provider_user, collection, CASES[code][0], code)
    assert rows, f"{code} did not fire"
    rule = get_rule(code)
    assert all(r.severity == rule.severity == "error" for r in rows)
    assert all(r.message for r in rows)


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_passes_on_the_passing_example(code, provider, provider_user, collection):
    assert failures(provider, provider_user, collection, CASES[code][1], code) == []


def test_husid_failure_names_the_expected_digit(provider, provider_user, collection):
    (row,) = failures(provider, provider_user, collection, CASES["SR.HUSID.01"][0], "SR.HUSID.01")
    assert row.husid == "9811681234563" and row.field == "HUSID"
    assert "should be 2" in row.message
    assert row.line == 7  # the <Student> element


def test_duplicate_hin_reports_each_copy(provider, provider_user, collection):
    rows = failures(provider, provider_user, collection, CASES["SR.HIN.01"][0], "SR.HIN.01")
    assert [(r.husid, r.numhus) for r in rows] == [(VALID_HUSID, "1"), (VALID_HUSID, "1")]
    assert "appears 2 times" in rows[0].message


def test_same_person_different_husid_names_both_records(provider, provider_user, collection):
    rows = failures(provider, provider_user, collection, CASES["SR.STUDENT.02"][0], "SR.STUDENT.02")
    assert {r.husid for r in rows} == {VALID_HUSID, OTHER_HUSID}
    first = next(r for r in rows if r.husid == VALID_HUSID)
    assert OTHER_HUSID in first.message


def test_rsnleave_pairing_reports_the_missing_half(provider, provider_user, collection):
    rows = failures(provider, provider_user, collection, CASES["SR.DATE.02"][0], "SR.DATE.02")
    assert sorted(r.field for r in rows) == ["DATELEFT", "RSNLEAVE"]
    assert any("DATELEFT is missing" in r.message for r in rows)
    assert any("RSNLEAVE is missing" in r.message for r in rows)


def test_instid_failure_is_one_file_level_row(provider, provider_user, collection):
    (row,) = failures(provider, provider_user, collection, CASES["SR.INSTID.01"][0], "SR.INSTID.01")
    assert row.value == "0999" and "0168" in row.message and row.instance_id is None
