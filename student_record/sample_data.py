"""Realistic synthetic Student record files, for the demo data, the tests and the benchmark.

Records are deterministic for a given seed. `defect_rate` plants quality-rule failures
(bad HUSID check digits, duplicate HINs, DATELEFT before COMDATE, RSNLEAVE without
DATELEFT) in roughly that fraction of students.

Consecutive years: pass `next_year_of=SamplePopulation(...)`, the parameters a year was written
with, and the file is the following year of the same students. That year is generated again,
student by student (nothing is held in memory), and each student is carried forward: records
that were closed off (RSNLEAVE and DATELEFT, or dormant MODE 63/64) drop out, live ones return
with the same HIN and the same personal and on-entry details (so they link cleanly), and new
entrants starting in the new reporting period take the place of those who left. `hin_defect_rate`
plants year-on-year problems, one per affected student, for the HIN checks (see HIN_PROBLEMS).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from xml.sax.saxutils import escape

FIRST_NAMES = [
    "Oliver",
    "Amelia",
    "George",
    "Isla",
    "Harry",
    "Ava",
    "Noah",
    "Mia",
    "Jack",
    "Ivy",
    "Leo",
    "Freya",
    "Arthur",
    "Lily",
    "Muhammad",
    "Florence",
    "Oscar",
    "Willow",
    "Charlie",
    "Rosie",
    "Jacob",
    "Sophia",
    "Thomas",
    "Evie",
    "Freddie",
    "Grace",
    "Alfie",
    "Poppy",
    "Aisha",
    "Priya",
    "Chen",
    "Wei",
    "Olumide",
    "Chiara",
    "Siobhan",
    "Rhys",
    "Eilidh",
    "Callum",
    "Niamh",
    "Dafydd",
]
SURNAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Wright",
    "Robinson",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Khan",
    "Hughes",
    "Edwards",
    "Murphy",
    "Campbell",
    "O'Neill",
    "Morgan",
    "MacDonald",
    "Nguyen",
    "Okafor",
    "Kowalski",
    "Rossi",
    "Singh",
    "Ahmed",
    "Llewellyn",
]
PROGRAMMES = (
    ("21", "BSc Mathematics", "MATH-BSC"),
    ("21", "BA History", "HIST-BA"),
    ("21", "BEng Civil Engineering", "CIVE-BENG"),
    ("21", "BSc Computer Science", "COMP-BSC"),
    ("20", "Foundation Degree Nursing", "NURS-FD"),
    ("05", "MSc Data Science", "DATA-MSC"),
    ("02", "PhD Chemistry", "CHEM-PHD"),
    ("06", "PGCE Secondary", "PGCE-SEC"),
)
POSTCODES = ("GL50 1HZ", "G12 8QQ", "M13 9PL", "LS2 9JT", "CF10 3AT", "BT7 1NN", "EH8 9YL", "SW7 2AZ")
DOMICILES = ("XF", "XF", "XF", "XH", "XG", "XI", "FR", "DE", "CN", "IN", "NG", "US")

ETHNICS = ("10", "10", "10", "15", "21", "31", "33", "39", "80", "99")
MODES = ("01", "01", "01", "31", "63")
# Postcodes of the year-on-year file's new entrants: far more of them than POSTCODES, so a new
# entrant matches a student of last year on BIRTHDTE/POSTCODE/QUALAIM only where one is planted.
OUTWARD_CODES = ("GL50", "GL52", "BS16", "BA2", "M13", "LS2", "CF10", "BT7", "EH8", "SW7", "NE1", "B15", "OX1")
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# Planted year-on-year problems, and the HIN checks each should raise.
HIN_PROBLEMS = {
    "gender": "HIN5b",  # GENDER changed on a continuing student
    "surname": "HIN5c",
    "birthdte": "HIN5a",
    "ethnic": "HIN3j",
    "postcode": "HIN3d",  # POSTCODE on entry changed on one continuing record
    "numhus": "HIN6 + HIN7g",  # NUMHUS "1" returned as "01": the link breaks, BPQ pairs them up
    "missing": "HIN7h",  # a live record is not returned at all
    "reenrolled": "HIN8",  # a closed-off programme reopened under a new NUMHUS
}


def husid_check_digit(first12: str) -> int:
    weights = (1, 3, 7, 9) * 3
    total = sum(int(d) * w for d, w in zip(first12, weights, strict=True))
    return (10 - total % 10) % 10


def make_husid(entry_year: int, instid: str, serial: int) -> str:
    first12 = f"{entry_year % 100:02d}{instid}{serial:06d}"
    return first12 + str(husid_check_digit(first12))


@dataclass(frozen=True)
class SamplePopulation:
    """The parameters a year's file was written with: enough to generate its students again."""

    reporting_year: int
    seed: int
    instances: int
    defect_rate: float = 0.0


@dataclass
class GenerationSummary:
    students: int = 0
    instances: int = 0
    defects: int = 0
    # Year-on-year files only: instances carried from last year, new entrants' instances, and
    # the planted problems by kind (keys of HIN_PROBLEMS).
    continuing: int = 0
    new_entrants: int = 0
    hin_problems: Counter = field(default_factory=Counter)


@dataclass(slots=True)
class _Instance:
    numhus: str
    ownpsd: str
    qualaim: str
    ptitle: str
    comdate: date
    mode: str
    rsnleave: str = ""
    dateleft: date | None = None
    qual1: str = ""
    yrllinst: int = 1
    totalts: int = 0
    qualent2: str = ""
    postcode: str = ""
    domicile: str = ""

    @property
    def closed_off(self) -> bool:
        return bool(self.rsnleave and self.dateleft) or self.mode in ("63", "64")


@dataclass(slots=True)
class _Student:
    husid: str
    ownstu: str
    fnames: str
    surname: str
    birthdte: date
    gender: str
    ethnic: str
    ucasnum: str
    instances: list[_Instance]
    defect: bool = False


def _known_postcode(rng: random.Random) -> str:
    return rng.choice(POSTCODES)


def _new_postcode(rng: random.Random) -> str:
    outward = rng.choice(OUTWARD_CODES)
    return f"{outward} {rng.randint(1, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"


def _leave(rng: random.Random, instance: _Instance, period_start: date, defect_kind: int = -1) -> None:
    """The record leaves during the reporting period, and never before starting (unless a
    planted defect: kind 2 leaves before COMDATE, kind 3 gives RSNLEAVE without DATELEFT)."""
    left = max(period_start + timedelta(days=rng.randint(0, 363)), instance.comdate + timedelta(days=1))
    if defect_kind == 2:
        left = instance.comdate - timedelta(days=30)
    instance.rsnleave = rng.choice(("01", "01", "02", "03", "11"))
    if defect_kind != 3:
        instance.dateleft = left
    if rng.random() < 0.8:
        instance.qual1 = instance.qualaim


def _draw_student(
    rng: random.Random,
    *,
    serial: int,
    instid: str,
    reporting_year: int,
    defect_rate: float,
    entry_year: int | None = None,
    postcode: Callable[[random.Random], str] = _known_postcode,
    ownstu: str = "",
) -> _Student:
    """One student. The order of the random draws is part of the output: a seed must keep
    giving the same file, so add new draws only after the existing ones."""
    if entry_year is None:
        entry_year = reporting_year - rng.randint(0, 4)
    period_start = date(reporting_year, 8, 1)
    husid = make_husid(entry_year, instid, serial)
    defect = rng.random() < defect_rate
    defect_kind = rng.randrange(4) if defect else -1
    if defect_kind == 0:
        husid = husid[:12] + str((int(husid[12]) + 1) % 10)
    birth = date(1975, 1, 1) + timedelta(days=rng.randint(0, 365 * 30))
    student = _Student(
        husid=husid,
        ownstu=ownstu or f"S{serial:07d}",
        fnames=rng.choice(FIRST_NAMES),
        surname=rng.choice(SURNAMES),
        birthdte=birth,
        gender=rng.choice("MFMFMFX9"),
        ethnic=rng.choice(ETHNICS),
        ucasnum=str(rng.randint(100000000, 999999999)) if rng.random() < 0.7 else "",
        instances=[],
        defect=defect,
    )
    numhus_values = ["1", "2"] if rng.random() < 0.05 else ["1"]
    if defect_kind == 1:
        numhus_values = ["1", "1"]
    for numhus in numhus_values:
        qualaim, ptitle, ownpsd = rng.choice(PROGRAMMES)
        comdate = date(entry_year, rng.choice((9, 9, 10, 1)), rng.randint(1, 28))
        if comdate.month == 1:
            comdate = comdate.replace(year=entry_year + 1)
        domicile = rng.choice(DOMICILES)
        instance = _Instance(numhus, ownpsd, qualaim, ptitle, comdate, mode=rng.choice(MODES), domicile=domicile)
        if rng.random() < 0.25 or defect_kind in (2, 3):
            _leave(rng, instance, period_start, defect_kind)
        instance.yrllinst = min(reporting_year - entry_year + 1, 9)
        instance.totalts = rng.choice((120, 240, 360, 480))
        instance.qualent2 = rng.choice(("40", "41", "47", "39"))
        if domicile.startswith("X"):
            instance.postcode = postcode(rng)
        student.instances.append(instance)
    return student


def _one_year(population: SamplePopulation, instid: str) -> Iterator[_Student]:
    """The students of a year with no history: entry years spread over the last five."""
    rng = random.Random(population.seed)
    serial = instances = 0
    while instances < population.instances:
        serial += 1
        student = _draw_student(
            rng,
            serial=serial,
            instid=instid,
            reporting_year=population.reporting_year,
            defect_rate=population.defect_rate,
        )
        instances += len(student.instances)
        yield student


def _carry_forward(
    rng: random.Random, before: _Student, *, reporting_year: int, defect_rate: float, hin_defect_rate: float
) -> tuple[_Student | None, str, int]:
    """Last year's student this year: (the student or None if nothing is returned, the planted
    problem or "", how many records keep their HIN)."""
    period_start = date(reporting_year, 8, 1)
    live = [i for i in before.instances if not i.closed_off]
    reopenable = [i for i in before.instances if i.closed_off and i.postcode]
    problem = ""
    if rng.random() < hin_defect_rate:
        options = [p for p in HIN_PROBLEMS if (reopenable if p == "reenrolled" else live)]
        problem = rng.choice(options) if options else ""

    instances = []
    for old in live:
        # Same HIN and on-entry details; only this year's activity (mode, leaving) is new.
        mode = "63" if rng.random() < 0.05 else old.mode
        instance = replace(old, mode=mode, rsnleave="", dateleft=None, qual1="")
        if rng.random() < 0.25:
            _leave(rng, instance, period_start)
        instances.append(instance)
    defect = bool(instances) and rng.random() < defect_rate
    if defect:
        # Only the defects that leave the HIN alone: a changed HUSID or NUMHUS is a HIN problem.
        _leave(rng, instances[0], period_start, rng.choice((2, 3)))

    student = replace(before, instances=instances, defect=defect)
    if problem == "gender":
        student.gender = rng.choice([g for g in "MFX9" if g != before.gender])
    elif problem == "surname":
        student.surname = rng.choice([s for s in SURNAMES if s != before.surname])
    elif problem == "birthdte":
        student.birthdte = before.birthdte + timedelta(days=rng.randint(1, 60))
    elif problem == "ethnic":
        student.ethnic = rng.choice([e for e in sorted(set(ETHNICS)) if e != before.ethnic])
    elif problem == "postcode":
        target = rng.choice(instances)
        target.postcode = _new_postcode(rng)
    elif problem == "numhus":
        # Example 8 of the guidance: "1" and "01" are different NUMHUS. A record with a POSTCODE
        # can be paired with last year's by BPQ matching (category 1) rather than not at all.
        target = rng.choice([i for i in instances if i.postcode] or instances)
        target.numhus = "0" + target.numhus
    elif problem == "missing":
        instances.remove(rng.choice(instances))
    elif problem == "reenrolled":
        # Example 17: the programme was closed off and a new instance opened for it this year.
        old = rng.choice(reopenable)
        comdate = date(reporting_year, rng.choice((9, 10)), rng.randint(1, 28))
        numhus = str(max(int(i.numhus) for i in before.instances) + 1)
        instances.append(
            replace(old, numhus=numhus, comdate=comdate, mode="01", rsnleave="", dateleft=None, qual1="", yrllinst=1)
        )
    kept = sum(1 for i in instances if i.numhus in {o.numhus for o in live})
    return (student if instances else None), problem, kept


def _next_year(
    previous: SamplePopulation,
    *,
    instid: str,
    instances: int,
    reporting_year: int,
    seed: int,
    defect_rate: float,
    hin_defect_rate: float,
    summary: GenerationSummary,
) -> Iterator[_Student]:
    rng = random.Random(f"next-year:{seed}")
    written = consumed = new_serial = 0
    scale = instances / previous.instances if previous.instances else 0

    def new_entrant() -> _Student:
        nonlocal new_serial
        new_serial += 1
        student = _draw_student(
            rng,
            serial=new_serial,
            instid=instid,
            reporting_year=reporting_year,
            defect_rate=defect_rate,
            entry_year=reporting_year,
            postcode=_new_postcode,
            ownstu=f"N{new_serial:07d}",
        )
        summary.new_entrants += len(student.instances)
        return student

    for before in _one_year(previous, instid):
        consumed += len(before.instances)
        student, problem, kept = _carry_forward(
            rng, before, reporting_year=reporting_year, defect_rate=defect_rate, hin_defect_rate=hin_defect_rate
        )
        if problem:
            summary.hin_problems[problem] += 1
        if student is not None:
            summary.continuing += kept
            written += len(student.instances)
            yield student
        # New entrants as the old students go, so the year keeps about the requested size.
        while written < consumed * scale:
            student = new_entrant()
            written += len(student.instances)
            yield student
    while written < instances:
        student = new_entrant()
        written += len(student.instances)
        yield student


def _render(student: _Student) -> str:
    lines = [
        "    <Student>",
        f"      <HUSID>{student.husid}</HUSID>",
        f"      <OWNSTU>{student.ownstu}</OWNSTU>",
        f"      <FNAMES>{escape(student.fnames)}</FNAMES>",
        f"      <SURNAME>{escape(student.surname)}</SURNAME>",
        f"      <BIRTHDTE>{student.birthdte.isoformat()}</BIRTHDTE>",
        f"      <GENDER>{student.gender}</GENDER>",
        f"      <ETHNIC>{student.ethnic}</ETHNIC>",
    ]
    if student.ucasnum:
        lines.append(f"      <UCASNUM>{student.ucasnum}</UCASNUM>")
    for i in student.instances:
        lines += [
            "      <Instance>",
            f"        <NUMHUS>{i.numhus}</NUMHUS>",
            f"        <OWNPSD>{i.ownpsd}</OWNPSD>",
            f"        <QUALAIM>{i.qualaim}</QUALAIM>",
            f"        <PTITLE>{i.ptitle}</PTITLE>",
            f"        <COMDATE>{i.comdate.isoformat()}</COMDATE>",
            f"        <MODE>{i.mode}</MODE>",
        ]
        if i.rsnleave:
            lines.append(f"        <RSNLEAVE>{i.rsnleave}</RSNLEAVE>")
        if i.dateleft:
            lines.append(f"        <DATELEFT>{i.dateleft.isoformat()}</DATELEFT>")
        if i.qual1:
            lines.append(f"        <QUAL1>{i.qual1}</QUAL1>")
        lines.append(f"        <YRLLINST>{i.yrllinst}</YRLLINST>")
        lines.append(f"        <TOTALTS>{i.totalts}</TOTALTS>")
        lines.append("        <EntryProfile>")
        lines.append(f"          <QUALENT2>{i.qualent2}</QUALENT2>")
        if i.postcode:
            lines.append(f"          <POSTCODE>{i.postcode}</POSTCODE>")
        lines.append(f"          <DOMICILE>{i.domicile}</DOMICILE>")
        lines.append("        </EntryProfile>")
        lines.append("      </Instance>")
    lines.append("    </Student>\n")
    return "\n".join(lines)


def write_student_record(
    out,
    *,
    instances: int,
    recid: str,
    instid: str,
    ukprn: str,
    reporting_year: int,
    seed: int = 1,
    defect_rate: float = 0.0,
    next_year_of: SamplePopulation | None = None,
    hin_defect_rate: float = 0.0,
) -> GenerationSummary:
    """Write a Student record with about `instances` instances to the text stream `out`.

    With `next_year_of` (the parameters last year's file was written with, for the same INSTID),
    the file is the following year of that population; `seed` then drives only this year's
    changes and new entrants, `defect_rate` plants within-file defects on this year's records
    and `hin_defect_rate` year-on-year problems on about that fraction of last year's students.
    """
    summary = GenerationSummary()
    if next_year_of is None:
        if hin_defect_rate:
            raise ValueError("hin_defect_rate needs next_year_of: year-on-year problems need a previous year")
        students = _one_year(SamplePopulation(reporting_year, seed, instances, defect_rate), instid)
    else:
        if next_year_of.reporting_year != reporting_year - 1:
            raise ValueError(
                f"next_year_of is reporting year {next_year_of.reporting_year}, not the year before {reporting_year}"
            )
        students = _next_year(
            next_year_of,
            instid=instid,
            instances=instances,
            reporting_year=reporting_year,
            seed=seed,
            defect_rate=defect_rate,
            hin_defect_rate=hin_defect_rate,
            summary=summary,
        )
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<StudentRecord>\n  <Institution>\n')
    out.write(f"    <RECID>{recid}</RECID>\n    <INSTID>{instid}</INSTID>\n    <UKPRN>{ukprn}</UKPRN>\n")
    for student in students:
        summary.students += 1
        summary.instances += len(student.instances)
        summary.defects += student.defect
        out.write(_render(student))
    out.write("  </Institution>\n</StudentRecord>\n")
    return summary
