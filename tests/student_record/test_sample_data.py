"""The synthetic Student record generator: one year, and the next year of the same students."""

import io
from collections import Counter

import pytest
from lxml import etree

from collections_app.models import RuleFailure, Submission, SubmissionStatus
from student_record.sample_data import HIN_PROBLEMS, SamplePopulation, write_student_record

from ..hin import test_guidance_examples as examples
from ..hin.test_guidance_examples import CURRENT_RECID, PREVIOUS_RECID, process

years = examples.years

INSTID, UKPRN = "0168", "10007794"
PREVIOUS = SamplePopulation(reporting_year=2022, seed=5, instances=1500)
PERIOD_START = "2023-08-01"  # of 2023/24, the "next year" in these tests


def previous_file(population=PREVIOUS) -> str:
    out = io.StringIO()
    write_student_record(
        out,
        instances=population.instances,
        recid=PREVIOUS_RECID,
        instid=INSTID,
        ukprn=UKPRN,
        reporting_year=population.reporting_year,
        seed=population.seed,
        defect_rate=population.defect_rate,
    )
    return out.getvalue()


def next_file(*, seed=6, defect_rate=0.0, hin_defect_rate=0.0, instances=None, out=None):
    out = out if out is not None else io.StringIO()
    summary = write_student_record(
        out,
        instances=instances or PREVIOUS.instances,
        recid=CURRENT_RECID,
        instid=INSTID,
        ukprn=UKPRN,
        reporting_year=PREVIOUS.reporting_year + 1,
        seed=seed,
        defect_rate=defect_rate,
        next_year_of=PREVIOUS,
        hin_defect_rate=hin_defect_rate,
    )
    return (out.getvalue() if isinstance(out, io.StringIO) else None), summary


def records(xml: str) -> dict[tuple[str, str], dict[str, str]]:
    """Every instance by HIN, with its own fields, its EntryProfile's and its student's."""
    found = {}
    for student in etree.fromstring(xml.encode()).iter("Student"):
        person = {child.tag: child.text for child in student if child.tag != "Instance"}
        for inst in student.iter("Instance"):
            fields = {**person, **{c.tag: c.text for c in inst if c.tag != "EntryProfile"}}
            fields.update({c.tag: c.text for c in inst.find("EntryProfile")})
            assert (person["HUSID"], fields["NUMHUS"]) not in found
            found[person["HUSID"], fields["NUMHUS"]] = fields
    return found


def closed_off(fields) -> bool:
    return bool(fields.get("RSNLEAVE") and fields.get("DATELEFT")) or fields["MODE"] in ("63", "64")


# Without a database. --------------------------------------------------------------------------


def test_each_mode_is_deterministic_per_seed():
    assert previous_file() == previous_file()
    assert previous_file() != previous_file(SamplePopulation(2022, seed=99, instances=1500))
    assert next_file()[0] == next_file()[0]
    assert next_file(hin_defect_rate=0.05)[0] == next_file(hin_defect_rate=0.05)[0]
    assert next_file(seed=7)[0] != next_file()[0]


def test_next_year_returns_every_live_record_unchanged_and_drops_closed_off_ones():
    before = records(previous_file())
    xml, summary = next_file()
    after = records(xml)
    live = {hin for hin, fields in before.items() if not closed_off(fields)}
    assert 0 < len(live) < len(before)
    assert live <= set(after)
    assert not {hin for hin, fields in before.items() if closed_off(fields)} & set(after)
    # What makes a HIN link clean: the person and the on-entry details stay as they were.
    kept = ("FNAMES", "SURNAME", "BIRTHDTE", "GENDER", "ETHNIC", "UCASNUM", "QUALAIM", "PTITLE", "COMDATE",
            "QUALENT2", "POSTCODE", "DOMICILE", "YRLLINST", "TOTALTS")  # fmt: skip
    for hin in live:
        assert {f: after[hin].get(f) for f in kept} == {f: before[hin].get(f) for f in kept}, hin
    # Everyone else is a new entrant: a HUSID never seen before, starting in the new period.
    old_husids = {husid for husid, _ in before}
    new = {hin: fields for hin, fields in after.items() if hin not in live}
    assert all(husid not in old_husids and f["COMDATE"] >= PERIOD_START for (husid, _), f in new.items())
    assert summary.continuing == len(live) and summary.new_entrants == len(new)
    assert 0.25 < len(new) / len(after) < 0.55
    assert len(after) == summary.instances and PREVIOUS.instances <= summary.instances < PREVIOUS.instances + 3


def test_next_year_can_grow():
    _, summary = next_file(instances=2000)
    assert 2000 <= summary.instances < 2003


def test_planted_problems_are_counted_and_change_what_they_say():
    before = records(previous_file())
    xml, summary = next_file(hin_defect_rate=0.1)
    after = records(xml)
    assert set(summary.hin_problems) == set(HIN_PROBLEMS)
    changed = Counter()
    for hin, fields in after.items():
        if hin in before:
            for field in ("GENDER", "SURNAME", "BIRTHDTE", "ETHNIC", "POSTCODE"):
                changed[field] += fields.get(field) != before[hin].get(field)
    # Student-level changes show on each of the student's linked records, so at least as many.
    for problem, field in (("gender", "GENDER"), ("surname", "SURNAME"), ("birthdte", "BIRTHDTE"),
                           ("ethnic", "ETHNIC"), ("postcode", "POSTCODE")):  # fmt: skip
        assert changed[field] >= summary.hin_problems[problem] > 0, problem
    assert sum(numhus.startswith("0") for _, numhus in after) == summary.hin_problems["numhus"]


def test_next_year_must_follow_the_population_year():
    with pytest.raises(ValueError, match="not the year before"):
        write_student_record(io.StringIO(), instances=10, recid="24051", instid=INSTID, ukprn=UKPRN,
                             reporting_year=2024, next_year_of=PREVIOUS)  # fmt: skip
    with pytest.raises(ValueError, match="needs next_year_of"):
        write_student_record(io.StringIO(), instances=10, recid="23051", instid=INSTID, ukprn=UKPRN,
                             reporting_year=2023, hin_defect_rate=0.1)  # fmt: skip


class CountingStream:
    def __init__(self):
        self.writes = 0
        self.largest = 0

    def write(self, text):
        self.writes += 1
        self.largest = max(self.largest, len(text))


def test_the_writer_streams_a_student_at_a_time():
    stream = CountingStream()
    _, summary = next_file(out=stream, hin_defect_rate=0.05)
    assert stream.writes >= summary.students
    assert stream.largest < 3000  # one student's XML, never the file


# Through the pipeline. ------------------------------------------------------------------------


def two_years(provider, user, years, **next_year):
    previous = process(provider, user, years[0], previous_file().encode())
    assert previous.status == SubmissionStatus.PASSED
    Submission.objects.filter(pk=previous.pk).update(status=SubmissionStatus.APPROVED)
    xml, summary = next_file(**next_year)
    return process(provider, user, years[1], xml.encode()), summary


def hin_counts(submission) -> Counter:
    return Counter(
        RuleFailure.objects.filter(submission=submission, code__startswith="HIN").values_list("code", flat=True)
    )


def test_the_next_year_of_a_population_links_without_hin_findings(provider, provider_user, years):
    submission, summary = two_years(provider, provider_user, years)
    assert hin_counts(submission) == Counter()
    assert submission.status == SubmissionStatus.PASSED
    assert f"Linked {summary.continuing:,} of {summary.instances:,} records" in submission.stage_message


def test_planted_problems_raise_the_hin_checks_they_are_meant_to(provider, provider_user, years):
    submission, summary = two_years(provider, provider_user, years, hin_defect_rate=0.05)
    planted = summary.hin_problems
    found = hin_counts(submission)
    assert set(found) == {"HIN3d", "HIN3j", "HIN5a", "HIN5b", "HIN5c", "HIN6", "HIN7g", "HIN7h", "HIN8"}
    # A changed NUMHUS is an incoming record without a link (check 6) and last year's HIN without
    # a record (check 7g when BPQ pairs them up, else 7h); a reopened programme is check 8.
    assert found["HIN6"] == planted["numhus"] > 0
    assert found["HIN7g"] + found["HIN7h"] == planted["numhus"] + planted["missing"]
    assert found["HIN7g"] > 0 and found["HIN7h"] >= planted["missing"] > 0
    assert found["HIN8"] == planted["reenrolled"] > 0
    for problem, code in (("gender", "HIN5b"), ("surname", "HIN5c"), ("birthdte", "HIN5a"), ("ethnic", "HIN3j"),
                          ("postcode", "HIN3d")):  # fmt: skip
        assert found[code] >= planted[problem] > 0, code
    assert set(RuleFailure.objects.filter(submission=submission, code="HIN6").values_list("field", flat=True)) <= {
        "category 1",
        "category 3",
    }
