"""Realistic synthetic Student record files, for the demo data, the tests and the benchmark.

Records are deterministic for a given seed. `defect_rate` plants quality-rule failures
(bad HUSID check digits, duplicate HINs, DATELEFT before COMDATE, RSNLEAVE without
DATELEFT) in roughly that fraction of students.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
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


def husid_check_digit(first12: str) -> int:
    weights = (1, 3, 7, 9) * 3
    total = sum(int(d) * w for d, w in zip(first12, weights, strict=True))
    return (10 - total % 10) % 10


def make_husid(entry_year: int, instid: str, serial: int) -> str:
    first12 = f"{entry_year % 100:02d}{instid}{serial:06d}"
    return first12 + str(husid_check_digit(first12))


@dataclass
class GenerationSummary:
    students: int = 0
    instances: int = 0
    defects: int = 0


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
) -> GenerationSummary:
    """Write a Student record with about `instances` instances to the text stream `out`."""
    rng = random.Random(seed)
    summary = GenerationSummary()
    period_start = date(reporting_year, 8, 1)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<StudentRecord>\n  <Institution>\n')
    out.write(f"    <RECID>{recid}</RECID>\n    <INSTID>{instid}</INSTID>\n    <UKPRN>{ukprn}</UKPRN>\n")
    serial = 0
    while summary.instances < instances:
        serial += 1
        summary.students += 1
        entry_year = reporting_year - rng.randint(0, 4)
        husid = make_husid(entry_year, instid, serial)
        defect = rng.random() < defect_rate
        defect_kind = rng.randrange(4) if defect else -1
        if defect_kind == 0:
            husid = husid[:12] + str((int(husid[12]) + 1) % 10)
        summary.defects += defect
        birth = date(1975, 1, 1) + timedelta(days=rng.randint(0, 365 * 30))
        lines = [
            "    <Student>",
            f"      <HUSID>{husid}</HUSID>",
            f"      <OWNSTU>S{serial:07d}</OWNSTU>",
            f"      <FNAMES>{escape(rng.choice(FIRST_NAMES))}</FNAMES>",
            f"      <SURNAME>{escape(rng.choice(SURNAMES))}</SURNAME>",
            f"      <BIRTHDTE>{birth.isoformat()}</BIRTHDTE>",
            f"      <GENDER>{rng.choice('MFMFMFX9')}</GENDER>",
            f"      <ETHNIC>{rng.choice(('10', '10', '10', '15', '21', '31', '33', '39', '80', '99'))}</ETHNIC>",
        ]
        if rng.random() < 0.7:
            lines.append(f"      <UCASNUM>{rng.randint(100000000, 999999999)}</UCASNUM>")
        n_instances = 2 if rng.random() < 0.05 else 1
        numhus_values = ["1", "2"] if n_instances == 2 else ["1"]
        if defect_kind == 1:
            numhus_values = ["1", "1"]
        for numhus in numhus_values:
            summary.instances += 1
            qualaim, ptitle, ownpsd = rng.choice(PROGRAMMES)
            comdate = date(entry_year, rng.choice((9, 9, 10, 1)), rng.randint(1, 28))
            if comdate.month == 1:
                comdate = comdate.replace(year=entry_year + 1)
            domicile = rng.choice(DOMICILES)
            lines += [
                "      <Instance>",
                f"        <NUMHUS>{numhus}</NUMHUS>",
                f"        <OWNPSD>{ownpsd}</OWNPSD>",
                f"        <QUALAIM>{qualaim}</QUALAIM>",
                f"        <PTITLE>{ptitle}</PTITLE>",
                f"        <COMDATE>{comdate.isoformat()}</COMDATE>",
                f"        <MODE>{rng.choice(('01', '01', '01', '31', '63'))}</MODE>",
            ]
            leaving = rng.random() < 0.25 or defect_kind in (2, 3)
            if leaving:
                # A leaver leaves during the reporting year, and never before starting.
                left = max(period_start + timedelta(days=rng.randint(0, 363)), comdate + timedelta(days=1))
                if defect_kind == 2:
                    left = comdate - timedelta(days=30)
                lines.append(f"        <RSNLEAVE>{rng.choice(('01', '01', '02', '03', '11'))}</RSNLEAVE>")
                if defect_kind != 3:
                    lines.append(f"        <DATELEFT>{left.isoformat()}</DATELEFT>")
                if rng.random() < 0.8:
                    lines.append(f"        <QUAL1>{qualaim}</QUAL1>")
            lines.append(f"        <YRLLINST>{min(reporting_year - entry_year + 1, 9)}</YRLLINST>")
            lines.append(f"        <TOTALTS>{rng.choice((120, 240, 360, 480))}</TOTALTS>")
            lines.append("        <EntryProfile>")
            lines.append(f"          <QUALENT2>{rng.choice(('40', '41', '47', '39'))}</QUALENT2>")
            if domicile.startswith("X"):
                lines.append(f"          <POSTCODE>{rng.choice(POSTCODES)}</POSTCODE>")
            lines.append(f"          <DOMICILE>{domicile}</DOMICILE>")
            lines.append("        </EntryProfile>")
            lines.append("      </Instance>")
        lines.append("    </Student>\n")
        out.write("\n".join(lines))
    out.write("  </Institution>\n</StudentRecord>\n")
    return summary
