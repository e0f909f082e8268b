"""Year-on-year linking beyond the guidance's examples: the stage itself, each check that no example
covers, the edges of suggested matching, the HIN target list and the import_history command."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from collections_app.models import RuleFailure, RuleResult, Submission, SubmissionStatus
from collections_app.rules import all_rules, get_rule
from hin.models import HinLink, LinkKind
from hin.selectors import hin_target_list, previous_year_submission

from ..factories import LiaisonFactory
from ..xmlbuild import VALID_HUSID, instance, student, student_record
from . import test_guidance_examples as examples
from .test_guidance_examples import (
    CURRENT_RECID,
    HIN_CODES,
    PREVIOUS_RECID,
    expect,
    hin_failures,
    hin_rows,
    process,
)

# The fixtures of the examples module: two linked collections, and run(previous, current).
years, run = examples.years, examples.run

OTHER_HUSID = "9811681234573"  # valid: a second person


def new_entrant():
    """Another person, starting this year: links to nothing and matches nothing."""
    return student(instance(COMDATE="2023-09-20"), HUSID=OTHER_HUSID, FNAMES="Ann", BIRTHDTE="2004-05-05")


def test_the_hin_checks_are_registered_as_linking_rules():
    linking = {r.code: r for r in all_rules() if r.stage == "linking"}
    assert set(linking) == HIN_CODES
    errors = {"HIN6", "HIN7g", "HIN7h"}
    assert {code for code, r in linking.items() if r.severity == "error"} == errors
    assert all(r.severity == "warning" for code, r in linking.items() if code not in errors)
    assert all(r.description for r in linking.values())
    # Within-submission rules are unaffected: the linking stage is separate.
    assert get_rule("SR.HIN.01").stage == "rules"


# The stage. --------------------------------------------------------------------------------------


def test_without_previous_year_data_no_hin_rule_runs(provider, provider_user, years):
    submission = process(provider, provider_user, years[1], student_record(student(), recid=CURRENT_RECID))
    assert "No previous-year data: year-on-year checks not run." in submission.stage_message
    assert not RuleResult.objects.filter(submission=submission, code__startswith="HIN").exists()
    assert not RuleFailure.objects.filter(submission=submission, code__startswith="HIN").exists()


def test_a_previous_year_submission_that_is_not_approved_is_not_used(provider, provider_user, years):
    previous = process(provider, provider_user, years[0], student_record(student(), recid=PREVIOUS_RECID))
    assert previous.status == SubmissionStatus.PASSED
    submission = process(provider, provider_user, years[1], student_record(student(), recid=CURRENT_RECID))
    assert previous_year_submission(submission=submission) is None
    assert "No previous-year data" in submission.stage_message


def test_another_providers_previous_year_is_not_used(provider, provider_user, other_provider, other_user, years):
    theirs = student_record(student(), recid=PREVIOUS_RECID, instid=other_provider.instid, ukprn=other_provider.ukprn)
    approved = process(other_provider, other_user, years[0], theirs)
    Submission.objects.filter(pk=approved.pk).update(status=SubmissionStatus.APPROVED)
    submission = process(provider, provider_user, years[1], student_record(student(), recid=CURRENT_RECID))
    assert "No previous-year data" in submission.stage_message


def test_the_stage_message_counts_linked_records(run):
    submission = run(
        [student(instance(NUMHUS="1"), instance(NUMHUS="2", QUALAIM="05", PTITLE="MSc Maths"))],
        [student(instance(NUMHUS="1"), instance(NUMHUS="3", QUALAIM="05", PTITLE="MSc Maths"))],
    )
    previous = Submission.objects.get(collection__reference="C22051")
    assert f"Linked 1 of 2 records with C22051 (submission {previous.pk});" in submission.stage_message
    # Errors from linking count in the verdict.
    assert submission.status == "failed" and submission.error_count == 2  # HIN6 + HIN7g


def test_rerunning_the_linking_stage_stores_each_failure_once(run):
    from collections_app.rules.engine import run_rules

    submission = run([student(instance(NUMHUS="1"))], [student(instance(NUMHUS="2"))])
    previous = previous_year_submission(submission=submission)
    run_rules(submission, stage="linking", previous_submission_id=previous.pk)
    assert hin_failures(submission) == expect(("HIN6", 1), ("HIN7g", 1))


# Report A checks no example covers: each fires on a change, and only that one. -----------------

FIELD_CHANGES = {
    "HIN3d": ({"POSTCODE": "GL50 1HZ"}, {"POSTCODE": "GL52 2RH"}),
    "HIN3h": ({"DOMICILE": "XF"}, {"DOMICILE": "XK"}),
    "HIN3j": ({"ETHNIC": "10"}, {"ETHNIC": "99"}),
    "HIN3m": ({"YRLLINST": "1"}, {"YRLLINST": "2"}),
    "HIN3q": ({}, {"UCASNUM": "123456789"}),  # absent last year, given now: a change
    "HIN3u": ({"TOTALTS": "360"}, {"TOTALTS": "300"}),
    "HIN5c": ({"SURNAME": "Smith"}, {"SURNAME": "Smyth"}),
}
STUDENT_LEVEL = {"ETHNIC", "UCASNUM", "SURNAME"}


def _split(fields):
    return (
        {k: v for k, v in fields.items() if k not in STUDENT_LEVEL},
        {k: v for k, v in fields.items() if k in STUDENT_LEVEL},
    )


@pytest.mark.parametrize("code", sorted(FIELD_CHANGES))
def test_report_a_field_check_fires_when_the_field_changes(run, code):
    before, after = FIELD_CHANGES[code]
    (i1, s1), (i2, s2) = _split(before), _split(after)
    submission = run([student(instance(**i1), **s1)], [student(instance(**i2), **s2)])
    assert hin_failures(submission) == expect(code)
    (row,) = hin_rows(submission, code)
    assert row.severity == "warning" and row.numhus == "1" and "2022/23 (C22051)" in row.message


@pytest.mark.parametrize("code", sorted(FIELD_CHANGES))
def test_report_a_field_check_is_quiet_when_the_field_is_the_same(run, code):
    fields = FIELD_CHANGES[code][1]
    i, s = _split(fields)
    submission = run([student(instance(**i), **s)], [student(instance(**i), **s)])
    assert hin_failures(submission) == expect()


def test_report_a_checks_each_linked_record_on_its_own(run):
    # Two programmes: only the one whose level changed is reported.
    submission = run(
        [student(instance(NUMHUS="1", QUALAIM="21"), instance(NUMHUS="2", QUALAIM="61", PTITLE="Writing"))],
        [student(instance(NUMHUS="1", QUALAIM="05"), instance(NUMHUS="2", QUALAIM="61", PTITLE="Writing"))],
    )
    assert hin_failures(submission) == expect("HIN1")
    assert hin_rows(submission, "HIN1")[0].numhus == "1"


def test_comdate_before_the_period_on_a_linked_record_is_not_check_2(run):
    submission = run([student(instance(COMDATE="2022-09-20"))], [student(instance(COMDATE="2023-07-31"))])
    assert hin_failures(submission) == expect()


# Reports B-D: suggested matches. --------------------------------------------------------------


def test_an_empty_postcode_never_suggests_a_match(run):
    # Non-UK domicile without POSTCODE: BIRTHDTE and QUALAIM alone do not suggest a link.
    submission = run(
        [student(instance(NUMHUS="1", POSTCODE=None, DOMICILE="US"))],
        [student(instance(NUMHUS="2", POSTCODE=None, DOMICILE="US"))],
    )
    assert hin_failures(submission) == expect(("HIN6", 3), "HIN7h")


def test_check_6_category_3_when_nothing_matches(run):
    # A continuing student (COMDATE before the period) returned for the first time.
    submission = run(
        [student(instance(NUMHUS="1"))],
        [student(instance(NUMHUS="1")), student(instance(NUMHUS="1", COMDATE="2021-10-01"), HUSID=OTHER_HUSID,
                                                FNAMES="Ann", BIRTHDTE="1990-01-01")],
    )  # fmt: skip
    assert hin_failures(submission) == expect(("HIN6", 3))
    (row,) = hin_rows(submission, "HIN6")
    assert row.husid == OTHER_HUSID and row.field == "category 3" and row.value == ""


def test_a_new_entrant_without_a_link_is_not_check_6(run):
    submission = run(
        [student(instance(NUMHUS="1"))],
        [student(instance(NUMHUS="1")), student(instance(NUMHUS="1", COMDATE="2023-09-25"), HUSID=OTHER_HUSID,
                                                FNAMES="Ann", BIRTHDTE="2004-01-01")],
    )  # fmt: skip
    assert hin_failures(submission) == expect()


def test_check_6_prefers_a_live_match_to_a_closed_one(run):
    closed = instance(NUMHUS="A", RSNLEAVE="02", DATELEFT="2023-03-01", PTITLE="BSc Maths (old)")
    live = instance(NUMHUS="B", PTITLE="BSc Maths")
    submission = run([student(closed, live)], [student(instance(NUMHUS="C", PTITLE="BSc Maths"))])
    # Check 8 (no COMDATE condition) pairs the same record with the closed one, in report D.
    assert hin_failures(submission) == expect(("HIN6", 1), ("HIN7g", 1), "HIN8")
    (hin6,) = hin_rows(submission, "HIN6")
    assert "set NUMHUS to B (now C)" in hin6.message
    assert "set NUMHUS to A (now C)" in hin_rows(submission, "HIN8")[0].message
    # The stored suggestion is check 6's live match, not check 8's closed one.
    link = HinLink.objects.get(submission=submission, current_instance_id=hin6.instance_id)
    assert link.kind == LinkKind.SUGGESTED and link.previous_instance_id == hin6.other_instance_id


def test_a_linked_record_is_not_offered_as_a_suggested_match(run):
    # Two concurrent programmes with the same QUALAIM; this year only one is returned. Its record
    # links, so it is not a suggestion for the missing one: that is check 7h, not 7g.
    geology = instance(NUMHUS="2", QUALAIM="32", PTITLE="Dip HE Geology")
    forensic = instance(NUMHUS="3", QUALAIM="32", PTITLE="Dip HE Forensic Science")
    submission = run([student(geology, forensic)], [student(geology)])
    assert hin_failures(submission) == expect("HIN7h")
    (row,) = hin_rows(submission, "HIN7h")
    assert row.numhus == "3" and row.field == "HIN"


@pytest.mark.parametrize(
    "closing",
    [
        {"RSNLEAVE": "01", "DATELEFT": "2023-06-30"},
        {"NOTACT": "1"},
        {"MODE": "63"},
        {"MODE": "64"},
    ],
    ids=["left", "suspended", "dormant-63", "dormant-64"],
)
def test_a_closed_off_hin_needs_no_record(run, closing):
    submission = run([student(instance(NUMHUS="1", **closing))], [new_entrant()])
    assert hin_failures(submission) == expect()


@pytest.mark.parametrize("closing", [{"NOTACT": "1"}, {"MODE": "63"}], ids=["suspended", "dormant"])
def test_a_suspended_or_dormant_hin_reopened_is_a_valid_link(run, closing):
    submission = run([student(instance(NUMHUS="1", **closing))], [student(instance(NUMHUS="1"))])
    assert hin_failures(submission) == expect()
    assert "Linked 1 of 1" in submission.stage_message


def test_rsnleave_without_dateleft_does_not_close_a_hin(run):
    # Only RSNLEAVE and DATELEFT together close a HIN off (the within-file rule flags the pair).
    submission = run([student(instance(NUMHUS="1", RSNLEAVE="01"))], [new_entrant()])
    assert hin_failures(submission) == expect("HIN7h")


def test_check_7h_is_reported_on_last_years_record(run):
    submission = run([student(instance(NUMHUS="1", PTITLE="BSc Maths"))], [new_entrant()])
    (row,) = hin_rows(submission, "HIN7h")
    previous = Submission.objects.get(collection__reference="C22051")
    assert (row.husid, row.numhus, row.severity) == (VALID_HUSID, "1", "error")
    assert row.instance_id // 10**7 == previous.pk and row.student_id // 10**7 == previous.pk
    assert row.line == 14  # the <Instance> in last year's file
    assert "BSc Maths" in row.message and "dormant" in row.message


def test_check_8_is_quiet_when_the_closed_record_differs_in_qualaim(run):
    submission = run(
        [student(instance(NUMHUS="1", QUALAIM="32", RSNLEAVE="01", DATELEFT="2023-06-30"))],
        [student(instance(NUMHUS="2", QUALAIM="33", COMDATE="2023-09-25"))],
    )
    assert hin_failures(submission) == expect()


def test_check_8_is_quiet_when_the_previous_record_is_reopened(run):
    # The closed HIN came back (linked), so a new programme beside it is not "one closed, another opened".
    closed = dict(NUMHUS="1", QUALAIM="32", COMDATE="2021-09-20")
    submission = run(
        [student(instance(**closed, RSNLEAVE="01", DATELEFT="2023-06-30"))],
        [student(instance(**closed), instance(NUMHUS="2", QUALAIM="32", COMDATE="2023-09-25", PTITLE="Cert RS"))],
    )
    assert hin_failures(submission) == expect()


# HIN target list. --------------------------------------------------------------------------------


def test_hin_target_list_is_every_record_not_closed_off(provider, provider_user, years):
    content = student_record(
        student(
            instance(NUMHUS="live"),
            instance(NUMHUS="left", RSNLEAVE="01", DATELEFT="2023-06-30"),
            instance(NUMHUS="rsnleave-only", RSNLEAVE="01"),
            instance(NUMHUS="suspended", NOTACT="1"),
            instance(NUMHUS="dormant63", MODE="63"),
            instance(NUMHUS="dormant64", MODE="64"),
            instance(NUMHUS="part-time", MODE="31"),
        ),
        student(instance(NUMHUS="1"), HUSID=OTHER_HUSID, FNAMES="Ann", SURNAME="Jones", BIRTHDTE="1990-01-01"),
        recid=PREVIOUS_RECID,
    )
    submission = process(provider, provider_user, years[0], content)
    targets = list(hin_target_list(submission=submission))
    assert [(t.husid, t.numhus) for t in targets] == [
        (VALID_HUSID, "live"),
        (VALID_HUSID, "rsnleave-only"),
        (VALID_HUSID, "part-time"),
        (OTHER_HUSID, "1"),
    ]
    assert (targets[-1].fnames, targets[-1].surname, str(targets[-1].birthdte)) == ("Ann", "Jones", "1990-01-01")
    assert targets[0].ptitle == "BSc Maths"


def test_hin_target_list_is_what_check_7_expects_next_year(run):
    previous_students = [
        student(instance(NUMHUS="1"), instance(NUMHUS="2", NOTACT="1", QUALAIM="05", PTITLE="MSc")),
        student(instance(NUMHUS="1"), HUSID=OTHER_HUSID, FNAMES="Ann", BIRTHDTE="1990-01-01"),
    ]
    submission = run(previous_students, [student(HUSID="9811681234584", FNAMES="Bo", BIRTHDTE="2000-01-01")])
    previous = previous_year_submission(submission=submission)
    targets = {(t.husid, t.numhus) for t in hin_target_list(submission=previous)}
    assert targets == {(r.husid, r.numhus) for r in RuleFailure.objects.filter(submission=submission,
                                                                               code__startswith="HIN7")}  # fmt: skip
    assert targets == {(VALID_HUSID, "1"), (OTHER_HUSID, "1")}


# import_history. ---------------------------------------------------------------------------------


def _write(tmp_path, content: bytes):
    path = tmp_path / "C22051.xml"
    path.write_bytes(content)
    return str(path)


def test_import_history_loads_and_approves_previous_year_data(provider, provider_user, years, tmp_path):
    LiaisonFactory(username="lee")
    previous_file = _write(tmp_path, student_record(student(instance(NUMHUS="1")), recid=PREVIOUS_RECID))
    out = io.StringIO()
    call_command("import_history", previous_file, provider=provider.ukprn, collection="C22051", stdout=out)
    imported = Submission.objects.get(collection__reference="C22051")
    assert imported.status == SubmissionStatus.APPROVED and imported.uploaded_by.username == "lee"
    assert imported.instance_count == 1
    assert f"Submission {imported.pk} approved" in out.getvalue() and "1 instances" in out.getvalue()

    submission = process(provider, provider_user, years[1], student_record(student(instance(NUMHUS="2")),
                                                                            recid=CURRENT_RECID))  # fmt: skip
    assert f"Linked 0 of 1 records with C22051 (submission {imported.pk});" in submission.stage_message
    assert hin_failures(submission) == expect(("HIN6", 1), ("HIN7g", 1))


def test_import_history_with_a_named_user_approves_a_file_with_rule_errors(provider, provider_user, years, tmp_path):
    bad_husid = student_record(student(HUSID="9811681234563"), recid=PREVIOUS_RECID)
    call_command(
        "import_history", _write(tmp_path, bad_husid), provider=provider.ukprn, collection="C22051",
        user=provider_user.username, stdout=io.StringIO(),
    )  # fmt: skip
    imported = Submission.objects.get(collection__reference="C22051")
    assert imported.status == SubmissionStatus.APPROVED and imported.error_count == 1
    assert imported.uploaded_by == provider_user


def test_importing_again_supersedes_the_earlier_import_and_is_audited(provider, provider_user, years, tmp_path):
    from audit.models import AuditEvent
    from review.models import Approval

    for numhus in ("1", "2"):
        content = student_record(student(instance(NUMHUS=numhus)), recid=PREVIOUS_RECID)
        call_command(
            "import_history", _write(tmp_path, content), provider=provider.ukprn, collection="C22051",
            user=provider_user.username, stdout=io.StringIO(),
        )  # fmt: skip
    first, second = Submission.objects.filter(collection__reference="C22051").order_by("pk")
    assert (first.status, second.status) == (SubmissionStatus.SUPERSEDED, SubmissionStatus.APPROVED)
    current = Approval.objects.get(superseded_at__isnull=True)
    assert current.submission == second and current.superseded_by is None
    assert Approval.objects.get(submission=first).superseded_by == current
    assert AuditEvent.objects.filter(action="submission.imported_approved", submission=second).exists()


def test_import_history_refuses_a_rejected_file(provider, years, tmp_path):
    LiaisonFactory()
    wrong_year = student_record(student(), recid=CURRENT_RECID)  # a C23051 file given as C22051
    err = io.StringIO()
    with pytest.raises(CommandError, match="rejected"):
        call_command(
            "import_history", _write(tmp_path, wrong_year), provider=provider.ukprn, collection="C22051",
            stdout=io.StringIO(), stderr=err,
        )  # fmt: skip
    assert "RECID 23051" in err.getvalue()
    assert Submission.objects.get().status == SubmissionStatus.REJECTED


def test_import_history_needs_a_known_provider_collection_and_user(provider, years, tmp_path, other_user):
    path = _write(tmp_path, student_record(student(), recid=PREVIOUS_RECID))
    with pytest.raises(CommandError, match="No provider"):
        call_command("import_history", path, provider="99999999", collection="C22051")
    with pytest.raises(CommandError, match="No collection"):
        call_command("import_history", path, provider=provider.ukprn, collection="C21051")
    with pytest.raises(CommandError, match="No superuser or liaison"):
        call_command("import_history", path, provider=provider.ukprn, collection="C22051")
    with pytest.raises(CommandError, match="neither agency staff"):
        call_command("import_history", path, provider=provider.ukprn, collection="C22051", user=other_user.username)
    assert not Submission.objects.exists()
