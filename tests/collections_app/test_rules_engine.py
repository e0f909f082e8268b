"""The rules engine's contract with a rule: (select_sql, params) with params a mapping of named
parameters (collections_app/rules/registry.py)."""

import pytest
from django.core.files.base import ContentFile

from collections_app.models import CollectionKind, RuleFailure, RuleResult, Severity
from collections_app.pipeline.runner import submission_process
from collections_app.rules import registry
from collections_app.rules.engine import run_rules

from ..factories import SubmissionFactory
from ..xmlbuild import instance, student, student_record

STAGE = "engine_test"  # a stage of its own, so run_rules runs only the rule a test registers


@pytest.fixture
def loaded(provider, provider_user, collection):
    """A processed submission with two instances, one with a programme title marked for review."""
    content = student_record(student(instance(NUMHUS="1"), instance(NUMHUS="2", PTITLE="BA History (review)")))
    submission = SubmissionFactory(
        provider=provider, uploaded_by=provider_user, collection=collection, file=ContentFile(content, name="r.xml")
    )
    submission_process(submission_id=submission.pk, task_id="t")
    submission.refresh_from_db()
    assert submission.status in ("passed", "failed"), (submission.status, submission.error_message)
    return submission


@pytest.fixture
def register():
    """Register a rule of STAGE from a sql(ctx) function; unregistered after the test."""
    codes = []

    def add(code, sql):
        sql.__doc__ = "A test rule."
        registry.rule(
            code=code,
            title=f"Test rule {code}",
            severity=Severity.WARNING,
            record_kind=CollectionKind.STUDENT_RECORD,
            stage=STAGE,
        )(sql)
        codes.append(code)

    yield add
    for code in codes:
        registry.unregister(code)


def test_a_rule_with_positional_params_is_refused(loaded, register):
    register(
        "TST.POS",
        lambda ctx: ("SELECT id, student_id, line, husid, numhus, '', '', '' FROM sr_instance WHERE submission_id = %s",
                     [ctx.submission_id]),
    )  # fmt: skip
    with pytest.raises(TypeError, match=r"rule TST\.POS returned list parameters.*mapping of named parameters"):
        run_rules(loaded, stage=STAGE)
    assert not RuleResult.objects.filter(submission=loaded, code="TST.POS").exists()


def test_a_rule_using_the_engines_reserved_prefix_is_refused(loaded, register):
    register(
        "TST.RES",
        lambda ctx: (
            "SELECT id, student_id, line, husid, numhus, '', '', '' FROM sr_instance WHERE submission_id = %(_code)s",
            {"_code": ctx.submission_id},
        ),
    )
    with pytest.raises(ValueError, match=r"rule TST\.RES uses parameter names reserved .*prefix '_'.*: _code"):
        run_rules(loaded, stage=STAGE)
    assert not RuleResult.objects.filter(submission=loaded, code="TST.RES").exists()


def test_a_named_parameter_can_be_used_several_times(loaded, register):
    def sql(ctx):
        # %(submission)s three times, %(field)s twice, a value containing % and a literal %% too.
        return (
            """
            SELECT i.id, i.student_id, i.line, i.husid, i.numhus, %(field)s, i.ptitle,
                   %(field)s || ' ' || i.ptitle || ' is 100%% marked for review.'
            FROM sr_instance i
            WHERE i.submission_id = %(submission)s AND i.ptitle LIKE %(marked)s
              AND i.student_id IN (SELECT id FROM sr_student WHERE submission_id = %(submission)s)
              AND EXISTS (SELECT 1 FROM sr_instance o WHERE o.submission_id = %(submission)s AND o.id <> i.id)
            """,
            {"submission": ctx.submission_id, "field": "PTITLE", "marked": "%(review)%"},
        )

    register("TST.NAMED", sql)
    assert run_rules(loaded, stage=STAGE) == {"TST.NAMED": 1}
    rows = list(
        RuleFailure.objects.filter(submission=loaded, code="TST.NAMED").values_list(
            "severity", "numhus", "field", "value", "message"
        )
    )
    assert rows == [
        ("warning", "2", "PTITLE", "BA History (review)", "PTITLE BA History (review) is 100% marked for review.")
    ]
    result = RuleResult.objects.get(submission=loaded, code="TST.NAMED")
    assert (result.severity, result.failure_count) == ("warning", 1)
