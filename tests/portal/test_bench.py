"""`manage.py bench ingest` and `bench contacts`, small: the commands work and report what they are for."""

import io
import re

from django.core.management import call_command

from collections_app.models import Collection, RuleFailure, Submission
from contacts.models import Graduate, PopulationBuild, PopulationEntry
from student_record.models import Instance, Student


def bench(*args) -> str:
    out = io.StringIO()
    call_command("bench", "ingest", "--instances", "2000", *args, stdout=out)
    return out.getvalue()


def test_bench_with_previous_reports_the_linking_stage_on_its_own(db):
    output = bench("--with-previous")
    assert re.search(r"previous year \(C98051\): [\d,]+ students / 2,000 instances processed in [\d.]+ s", output)
    assert re.search(r"^linking +\d+\.\d\d +[\d,]+$", output, re.M)
    linking = re.search(r"linking adds (\d+\.\d\d) s: 2,0\d\d current vs 2,000 previous instances", output)
    assert linking, output
    assert re.search(r"lxml alone \(parse \+ XSD validate\): \d+\.\d\d s", output)
    # The default --hin-defect-rate plants a few problems, and linking finds them.
    assert re.search(r"HIN findings: .*HIN\d", output)
    assert Collection.objects.get(reference="C99051").previous.reference == "C98051"
    # Without --keep both years' records are gone; the submissions stay (the audit log names
    # them), superseded, so the next run neither links with nor compares against them.
    assert set(Submission.objects.values_list("status", flat=True)) == {"superseded"}
    assert not Instance.objects.exists() and not Student.objects.exists() and not RuleFailure.objects.exists()
    again = bench("--with-previous")
    assert re.search(r"linking adds (\d+\.\d\d) s: 2,0\d\d current vs 2,000 previous instances", again)


def test_bench_without_previous_has_nothing_to_link(db):
    output = bench("--keep")
    assert "linking adds" not in output
    (submission,) = Submission.objects.all()
    assert "No previous-year data" in submission.stage_message
    assert Collection.objects.get(reference="C99051").previous is None


def test_bench_contacts_runs_the_contact_pipeline_and_reports_against_lxml(db):
    out = io.StringIO()
    call_command("bench", "contacts", "--graduates", "400", "--keep", stdout=out)
    output = out.getvalue()
    assert re.search(r"generated 39\d graduates / [\d,]+ details, .* population of 39\d stored", output), output
    assert re.search(r"planted defects: .*no_contact", output)
    assert re.search(r"^schema +\d+\.\d\d +[\d,]+$", output, re.M)
    assert re.search(r"ratio, pipeline end to end / lxml alone: \d+\.\d\dx", output)
    assert re.search(r"CPU time of this process: pipeline \d+\.\d\d s", output)
    submission = Submission.objects.get(collection__reference="C99071", status__in=("passed", "failed"))
    assert Graduate.objects.filter(submission_id=submission.pk).count() == submission.student_count > 380
    build = PopulationBuild.objects.get(collection__reference="C99071", is_current=True)
    assert PopulationEntry.objects.filter(build=build).count() == build.graduate_count > 380
    # A second run replaces the first: its records and population are gone.
    call_command("bench", "contacts", "--graduates", "100", stdout=io.StringIO())
    assert not Graduate.objects.exists() and not PopulationBuild.objects.exists()


def test_bench_kit_times_portal_validate_next_to_lxml_alone(db):
    out = io.StringIO()
    call_command("bench", "kit", "--instances", "300", "--repeat", "2", stdout=out)
    output = out.getvalue()
    assert re.search(r"kit verdict: failed, [\d,]+ errors, 0 warnings \(exit status 1\)", output), output
    assert re.search(r"^schema +\d+\.\d\d$", output, re.M)
    assert re.search(r"runs \(wall seconds, taken in turns\): lxml alone [\d.]+, [\d.]+; kit [\d.]+, [\d.]+", output)
    assert re.search(r"ratio, kit end to end / lxml alone: \d+\.\d\dx", output)
    assert not Submission.objects.exists()  # the kit's database is its own, not this one
