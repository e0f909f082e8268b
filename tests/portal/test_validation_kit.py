"""The offline validation kit (portal-validate) against the portal: the same files through the
portal's pipeline (stored upload, processed, last year approved) and through the kit (a new
process, on its own throwaway SQLite database) give the same per-rule counts and the same CSV
files, byte for byte: failures, HIN report, HIN Target List, schema errors; and for contact
details, with the population the portal offers as XML."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from collections_app.models import CollectionKind, RuleResult, Submission, SubmissionStatus
from collections_app.pipeline.runner import submission_process
from collections_app.rules.registry import rules_for
from contacts.sample_data import create_population, write_cohort_file
from hin.selectors import hin_report_counts
from review.services import submission_approve_historical
from student_record.sample_data import SamplePopulation, make_husid, write_student_record

from .. import factories
from ..xmlbuild import instance, student, student_record

PROJECT = Path(__file__).resolve().parents[2]
INSTANCES = 400


def kit(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict, Path]:
    """portal-validate in a new process, as a provider runs it; its summary and output folder."""
    out = tmp_path / "kit-out"
    run = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "portal.validate_kit", *args, "--out", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    return run, summary, out


def kit_file(out: Path, what: str) -> bytes:
    """The kit's CSV named like the portal's download, ...-submission-<id>-<what>.csv."""
    (match,) = [p for p in out.glob("*.csv") if p.name.split("-", 4)[-1] == f"{what}.csv"]
    return match.read_bytes()


def download(client, name: str, submission: Submission) -> bytes:
    response = client.get(reverse(name, args=[submission.pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def process(provider, user, collection, content: bytes) -> Submission:
    submission = factories.SubmissionFactory(
        provider=provider, uploaded_by=user, collection=collection, file=ContentFile(content, name="r.xml")
    )
    submission_process(submission_id=submission.pk, task_id="t")
    submission.refresh_from_db()
    return submission


def _students(*students) -> str:
    """Student elements written by tests/xmlbuild, to add to a generated file."""
    text = student_record(*students).decode()
    return text[text.index("    <Student>") : text.rindex("    </Student>\n") + len("    </Student>\n")]


def _add(xml: str, students: str, *, instid: str | None = None) -> bytes:
    """`students` before the end of the Institution; the header's INSTID changed if given."""
    if instid:
        start = xml.index("<INSTID>") + len("<INSTID>")
        xml = xml[:start] + instid + xml[start + 4 :]
    at = xml.rindex("  </Institution>")
    return (xml[:at] + students + xml[at:]).encode()


# Linked pairs (same HUSID and NUMHUS both years) for the year-on-year checks the generator does
# not plant: each differs in one field. (check, last year's fields, this year's fields)
LINKED_PAIRS = [
    ("HIN1", {"QUALAIM": "21"}, {"QUALAIM": "02"}),
    ("HIN2", {}, {"COMDATE": "2023-09-01"}),
    ("HIN3c", {"QUALENT2": "40"}, {"QUALENT2": "39"}),
    ("HIN3h", {"DOMICILE": "XF"}, {"DOMICILE": "XG"}),
    ("HIN3m", {"YRLLINST": "1"}, {"YRLLINST": "3"}),
    ("HIN3q", {"UCASNUM": "123456789"}, {"UCASNUM": "987654321"}),
    ("HIN3u", {"TOTALTS": "120"}, {"TOTALTS": "96"}),
]


def _pair(n: int, fields: dict, instid: str) -> dict:
    ucasnum = fields.pop("UCASNUM", None)
    return student(
        instance(**{"COMDATE": "2021-09-20", **fields}),
        HUSID=make_husid(2021, instid, 990_000 + n),
        FNAMES=f"Kit{chr(65 + n)}",
        SURNAME="Pairing",
        BIRTHDTE=f"2001-0{1 + n % 9}-1{n % 10}",
        UCASNUM=ucasnum,
    )


def _targeted(instid: str) -> tuple[str, str]:
    """(last year's, this year's) extra students: the linked pairs above, and this year two
    students sharing a HUSID with different genders (SR.STUDENT.01) and one person under two
    HUSIDs (SR.STUDENT.02)."""
    previous = [_pair(n, dict(before), instid) for n, (_code, before, _after) in enumerate(LINKED_PAIRS)]
    current = [_pair(n, dict(after), instid) for n, (_code, _before, after) in enumerate(LINKED_PAIRS)]
    shared = make_husid(2023, instid, 991_000)
    current += [
        student(HUSID=shared, FNAMES="Sam", SURNAME="Twice", GENDER="M", BIRTHDTE="2004-05-06"),
        student(HUSID=shared, FNAMES="Sam", SURNAME="Twice", GENDER="F", BIRTHDTE="2004-05-06"),
        student(HUSID=make_husid(2023, instid, 991_001), FNAMES="Jo", SURNAME="Two", BIRTHDTE="2003-03-03"),
        student(HUSID=make_husid(2023, instid, 991_002), FNAMES="Jo", SURNAME="Two", BIRTHDTE="2003-03-03"),
    ]
    return _students(*previous), _students(*current)


@pytest.fixture
def two_years(tmp_path, provider, approver):
    """Last year (C22051) and this year (C23051) as files: this year's generated with within-year
    defects and planted year-on-year problems, plus the targeted records above, and a header
    INSTID that is not the provider's (SR.INSTID.01)."""
    previous_population = SamplePopulation(2022, 41, INSTANCES)
    common = {"instid": provider.instid, "ukprn": provider.ukprn}
    last, this = io.StringIO(), io.StringIO()
    write_student_record(last, instances=INSTANCES, recid="22051", reporting_year=2022, seed=41, **common)
    write_student_record(
        this, instances=INSTANCES, recid="23051", reporting_year=2023, seed=42, defect_rate=0.08,
        next_year_of=previous_population, hin_defect_rate=0.1, **common,
    )  # fmt: skip
    extra_last, extra_this = _targeted(provider.instid)
    paths = {"previous": tmp_path / "C22051.xml", "current": tmp_path / "C23051.xml"}
    paths["previous"].write_bytes(_add(last.getvalue(), extra_last))
    paths["current"].write_bytes(_add(this.getvalue(), extra_this, instid="0999"))
    return paths


def test_kit_equals_the_portal_on_every_student_record_rule_and_all_four_hin_reports(
    client, tmp_path, provider, provider_user, approver, two_years
):
    previous_collection = factories.CollectionFactory(reference="C22051", reporting_year=2022)
    collection = factories.CollectionFactory(reference="C23051", reporting_year=2023, previous=previous_collection)
    previous = process(provider, provider_user, previous_collection, two_years["previous"].read_bytes())
    submission_approve_historical(submission=previous, user=approver)
    portal = process(provider, provider_user, collection, two_years["current"].read_bytes())
    assert portal.status == SubmissionStatus.FAILED

    # The file exercises everything: every rule of the kind fails at least once, every report has findings.
    portal_counts = dict(RuleResult.objects.filter(submission=portal).values_list("code", "failure_count"))
    codes = {r.code for stage in ("rules", "linking") for r in rules_for(CollectionKind.STUDENT_RECORD, stage=stage)}
    assert set(portal_counts) == codes
    assert [code for code, count in portal_counts.items() if count == 0] == []
    assert all(report.failures for report in hin_report_counts(submission=portal))

    run, summary, out = kit(
        tmp_path, str(two_years["current"]), "--previous", str(two_years["previous"]), "--instid", provider.instid
    )
    assert run.returncode == 1, run.stderr
    assert summary["rules"] == portal_counts
    assert (summary["verdict"], summary["errors"], summary["warnings"]) == (
        portal.status,
        portal.error_count,
        portal.warning_count,
    )
    assert summary["hin_reports"] == {r.report.letter: r.failures for r in hin_report_counts(submission=portal)}

    client.force_login(provider_user)
    assert kit_file(out, "failures") == download(client, "submission_failures_csv", portal)
    assert kit_file(out, "hin-report") == download(client, "hin_report_csv", portal)
    assert kit_file(out, "hin-target-list") == download(client, "hin_target_list_csv", portal)
    # What it prints: the verdict, each failing rule with its count, the first failures.
    assert "Verdict: FAILED" in run.stdout
    for code, count in portal_counts.items():
        assert re.search(rf"^{re.escape(code)} +(error|warning) +{count:,} ", run.stdout, re.MULTILINE), code
    assert "HIN reports (year-on-year findings): A " in run.stdout
    assert "First 10 failures, in file order:" in run.stdout


def test_a_rejected_file_gives_the_portals_schema_errors(client, tmp_path, provider, provider_user, collection):
    content = student_record(student(BIRTHDTE="2001-02-30"), student(GENDER="Q")).decode()
    path = tmp_path / "broken.xml"
    path.write_text(content)
    portal = process(provider, provider_user, collection, content.encode())
    assert portal.status == SubmissionStatus.REJECTED

    run, summary, out = kit(tmp_path, str(path))
    assert run.returncode == 1
    assert (summary["verdict"], summary["schema_errors"]) == ("rejected", portal.schema_error_count)
    client.force_login(provider_user)
    assert kit_file(out, "schema-errors") == download(client, "submission_schema_errors_csv", portal)
    assert "Verdict: REJECTED, 2 schema errors." in run.stdout


def test_kit_equals_the_portal_for_contact_details_with_the_population(client, tmp_path, provider, provider_user):
    provider.email_domains = ["glos.ac.uk"]
    provider.save()
    collection = factories.CollectionFactory(
        reference="C23071", name="Cohort A", kind=CollectionKind.CONTACT_DETAILS, cohort="A"
    )
    source = factories.SubmissionFactory(provider=provider, status=SubmissionStatus.SUPERSEDED)
    sample = {"graduates": 300, "seed": 5, "defect_rate": 0.15}
    create_population(provider=provider, collection=collection, source_submission=source, **sample)
    text = io.StringIO()
    write_cohort_file(text, recid="23071", ukprn=provider.ukprn, **sample)
    path = tmp_path / "contacts.xml"
    path.write_text(text.getvalue())
    portal = process(provider, provider_user, collection, text.getvalue().encode())
    assert portal.status == SubmissionStatus.FAILED
    portal_counts = dict(RuleResult.objects.filter(submission=portal).values_list("code", "failure_count"))
    assert sum(1 for count in portal_counts.values() if count) >= 5  # a file with plenty to compare

    client.force_login(provider_user)
    response = client.get(reverse("collection_population_xml", args=[collection.reference]))
    population = tmp_path / "population.xml"
    population.write_bytes(b"".join(response.streaming_content))
    run, summary, out = kit(
        tmp_path, "--kind", "contacts", str(path), "--population", str(population), "--email-domain", "glos.ac.uk"
    )
    assert run.returncode == 1, run.stderr
    assert summary["rules"] == portal_counts
    assert kit_file(out, "failures") == download(client, "submission_failures_csv", portal)


def test_usage_errors_exit_2(tmp_path):
    assert kit(tmp_path, str(tmp_path / "missing.xml"))[0].returncode == 2
    path = tmp_path / "x.xml"
    path.write_bytes(student_record(student()))
    population = tmp_path / "p.xml"
    population.write_text("<ContactPopulation/>")
    run = kit(tmp_path, str(path), "--population", str(population))[0]
    assert run.returncode == 2
    assert "--population is for contact details files" in run.stderr


def test_a_clean_file_passes_with_exit_0(tmp_path):
    path = tmp_path / "clean.xml"
    path.write_bytes(student_record(student()))
    run, summary, _out = kit(tmp_path, str(path))
    assert (run.returncode, summary["verdict"]) == (0, "passed"), run.stdout + run.stderr
    assert "No --previous: the HIN year-on-year checks (reports A-D) did not run." in run.stdout


def test_the_console_script_is_installed_with_the_project():
    """`pip install` of the project (./scripts/test installs it editable) declares portal-validate."""
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "portal-validate"]
    assert script.value == "portal.validate_kit:main"
    assert 'portal-validate = "portal.validate_kit:main"' in (PROJECT / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "The file is empty."), (b"HUSID,NUMHUS\n1,2\n", "This file is not XML.")],
)
def test_a_file_the_upload_form_refuses_is_refused_with_its_words(tmp_path, content, message):
    path = tmp_path / "upload.xml"
    path.write_bytes(content)
    run, summary, _out = kit(tmp_path, str(path))
    assert run.returncode == 1, run.stderr
    assert summary["verdict"] == "refused"
    assert f"the portal would refuse this upload: {message}" in run.stdout
