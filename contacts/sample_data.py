"""Synthetic Graduate Outcomes contact details files and their cohort population, for the
benchmark, the demo and the tests.

Deterministic for a seed and streamed: `sample_graduates` yields graduates one by one from one
random stream, so the file (`write_cohort_file`) and the population rows (`create_population`)
made from the same parameters agree without holding either in memory.

About three details each (personal emails, UK mobiles, some landlines, international numbers
for EU graduates) and a few GRADSTATUS. `defect_rate` plants, in roughly that fraction of
graduates each, one of the problems the spec's rules catch (DEFECTS).
"""

from __future__ import annotations

import io
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TextIO

from django.db import connection, transaction

from collections_app.pipeline.parsing import COPY_ESCAPES

from .models import PopulationBuild, PopulationEntry
from .xmlwrite import GraduateDetails, write_contact_details

FIRST_NAMES = ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Priya", "Chen", "Rhys", "Niamh"]
SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Patel", "Wright", "Evans", "Khan", "Murphy", "O'Brien", "Lee"]
MAIL_DOMAINS = ["gmail.com", "outlook.com", "hotmail.co.uk", "yahoo.co.uk", "icloud.com", "btinternet.com"]
MOBILE_PREFIXES = ["073", "074", "0795"]  # valid UK mobile ranges, whatever follows
LANDLINES = ("01242 {6}", "0161 {3} {4}", "020 3{3} {4}")
INTERNATIONAL = ("+49 151 {8}", "+86 139 {4} {4}", "+91 98{3} {5}")
EU_DOMICILES = ["XF", "FR", "DE", "ES", "IT", "IE", "PL"]
OVERSEAS_DOMICILES = ["CN", "IN", "US", "NG", "MY"]
_PLACEHOLDER = re.compile(r"\{(\d)\}")

# What `defect_rate` plants, each in about that share of graduates (one per graduate).
DEFECTS = (
    "invalid_email",  # GO.EMAIL.12
    "role_mailbox",  # GO.EMAIL.12
    "provider_domain",  # GO.EMAIL.09
    "invalid_mobile",  # GO.PHONE.01
    "landline_as_mobile",  # GO.PHONE.01
    "mobile_as_landline",  # GO.PHONE.02
    "dummy_number",  # GO.PHONE.05
    "shared_email",  # GO.EMAIL.10 (with the graduate before)
    "shared_phone",  # GO.PHONE.06 (with the graduate before)
    "no_contact",  # GO.EMAIL.04
    "details_with_gradstatus",  # GO.EMAIL.05
    "inttel_overseas",  # GO.PHONE.04
    "same_detail_twice",  # merged, not an error
    "not_in_population",  # GO.POP.01
    "missing_from_file",  # GO.POP.02
)


@dataclass
class SampleGraduate:
    husid: str
    numhus: str
    ownstu: str
    fnames: str
    surname: str
    qual1: str
    ptitle: str
    dateleft: date
    domicile: str
    homeeuos: str
    gradstatus: str = ""
    details: dict[str, list[str]] = field(default_factory=dict)
    defect: str = ""
    in_file: bool = True
    in_population: bool = True


def _digits(rng: random.Random, n: int) -> str:
    return f"{rng.randrange(10**n):0{n}d}"


def _fill(template: str, rng: random.Random) -> str:
    """ "01242 {6}" -> "01242 " and six random digits."""
    return _PLACEHOLDER.sub(lambda m: _digits(rng, int(m.group(1))), template)


def _mobile(rng: random.Random) -> str:
    prefix = rng.choice(MOBILE_PREFIXES)
    rest = _digits(rng, 11 - len(prefix))
    number = prefix + rest
    return f"{number[:5]} {number[5:]}"


def sample_graduates(
    graduates: int, *, seed: int, defect_rate: float = 0.01, reporting_year: int = 2023,
    provider_domain: str = "glos.ac.uk",
) -> Iterator[SampleGraduate]:  # fmt: skip
    """`graduates` graduates of cohort A (DATELEFT 1 Aug - 31 Oct of the reporting year), and
    the population-only graduates the "missing_from_file" defect adds."""
    rng = random.Random(seed)
    window_start = date(reporting_year, 8, 1)
    previous: SampleGraduate | None = None
    for i in range(1, graduates + 1):
        fnames, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        roll = rng.random()
        homeeuos, domicile = "1", "XF"
        if roll < 0.08:
            homeeuos, domicile = "2", rng.choice(EU_DOMICILES[1:])
        elif roll < 0.2:
            homeeuos, domicile = "3", rng.choice(OVERSEAS_DOMICILES)
        graduate = SampleGraduate(
            husid=f"{(seed % 90) + 10:02d}{i:011d}",
            numhus="1",
            ownstu=f"S{i:07d}",
            fnames=fnames,
            surname=surname,
            qual1=rng.choice(["BA", "BS", "MA", "MS"]),
            ptitle=rng.choice(["History", "Computing", "Nursing", "Law", "Biology"]),
            dateleft=window_start + timedelta(days=rng.randrange(92)),
            domicile=domicile,
            homeeuos=homeeuos,
        )
        user = f"{fnames}.{surname.replace(chr(39), '')}{i}".lower()
        details = graduate.details
        details["EMAIL"] = [f"{user}@{rng.choice(MAIL_DOMAINS)}"]
        if rng.random() < 0.5:
            details["EMAIL"].append(f"{fnames[0].lower()}{surname[:3].lower()}{i}@{rng.choice(MAIL_DOMAINS)}")
        if homeeuos == "2":
            details["INTTEL"] = [_fill(rng.choice(INTERNATIONAL), rng)]
        elif homeeuos == "1":
            details["UKMOB"] = [_mobile(rng)]
            if rng.random() < 0.4:
                details["UKTEL"] = [_fill(rng.choice(LANDLINES), rng)]
        if rng.random() < 0.01:
            graduate.gradstatus, graduate.details = rng.choice(["01", "02", "03"]), {}
        if rng.random() < defect_rate * len(DEFECTS):
            graduate.defect = rng.choice(DEFECTS)
            _plant(graduate, graduate.defect, rng, previous, user, provider_domain)
        if graduate.defect == "missing_from_file":
            graduate.in_file = False
        yield graduate
        previous = graduate


def _plant(graduate: SampleGraduate, defect: str, rng, previous, user: str, provider_domain: str) -> None:
    details = graduate.details
    graduate.gradstatus = ""
    if not details:  # the graduate drew a GRADSTATUS, and no details, before the defect
        details["EMAIL"] = [f"{user}@{MAIL_DOMAINS[0]}"]
    if defect == "invalid_email":
        details["EMAIL"] = [rng.choice([f"{user}.gmail.com", f"{user}@@outlook.com", f"{user}@gmail"])]
    elif defect == "role_mailbox":
        details["EMAIL"] = [f"{rng.choice(['info', 'admissions', 'no-reply', 'careers'])}@{rng.choice(MAIL_DOMAINS)}"]
    elif defect == "provider_domain":
        details["EMAIL"] = [f"{user}@{provider_domain}"]
    elif defect == "invalid_mobile":
        details["UKMOB"] = [_mobile(rng)[:-2]]
    elif defect == "landline_as_mobile":
        details["UKMOB"] = [_fill(LANDLINES[0], rng)]
    elif defect == "mobile_as_landline":
        details["UKTEL"] = [_mobile(rng)]
    elif defect == "dummy_number":
        details["UKMOB"] = [rng.choice([f"07700 900{_digits(rng, 3)}", "07777 777777"])]
    elif defect == "shared_email" and previous is not None and previous.details.get("EMAIL"):
        details["EMAIL"] = [previous.details["EMAIL"][0].upper()]
    elif defect == "shared_phone" and previous is not None and previous.details.get("UKMOB"):
        details["UKMOB"] = [previous.details["UKMOB"][0].replace(" ", "")]
    elif defect == "no_contact":
        details.clear()
    elif defect == "details_with_gradstatus":
        graduate.gradstatus = "02"
    elif defect == "inttel_overseas":
        graduate.homeeuos, graduate.domicile = "3", rng.choice(OVERSEAS_DOMICILES)
        details["INTTEL"] = [_fill(INTERNATIONAL[1], rng)]
    elif defect == "same_detail_twice":
        first = details["EMAIL"][0]
        details["EMAIL"] = [first, first.upper()]  # the same address in capitals
    elif defect == "not_in_population":
        graduate.in_population = False


@dataclass
class CohortSummary:
    graduates: int = 0  # written to the file
    details: int = 0
    population: int = 0
    defects: Counter = field(default_factory=Counter)


def write_cohort_file(
    out: TextIO, *, graduates: int, recid: str, ukprn: str, seed: int, defect_rate: float = 0.01,
    reporting_year: int = 2023, provider_domain: str = "glos.ac.uk",
) -> CohortSummary:  # fmt: skip
    summary = CohortSummary()

    def in_file() -> Iterator[GraduateDetails]:
        for graduate in sample_graduates(
            graduates, seed=seed, defect_rate=defect_rate, reporting_year=reporting_year,
            provider_domain=provider_domain,
        ):  # fmt: skip
            summary.defects[graduate.defect] += bool(graduate.defect)
            summary.population += graduate.in_population
            if not graduate.in_file:
                continue
            summary.graduates += 1
            summary.details += sum(len(values) for values in graduate.details.values())
            yield GraduateDetails(graduate.husid, graduate.numhus, graduate.gradstatus, graduate.details)

    write_contact_details(out, recid=recid, ukprn=ukprn, graduates=in_file())
    summary.defects = +summary.defects
    return summary


POPULATION_COLUMNS = (
    "build_id", "husid", "numhus", "ownstu", "fnames", "surname", "qual1", "ptitle", "dateleft", "domicile",
    "homeeuos",
)  # fmt: skip


def create_population(
    *, provider, collection, source_submission, graduates: int, seed: int, defect_rate: float = 0.01,
    reporting_year: int = 2023, provider_domain: str = "glos.ac.uk",
) -> PopulationBuild:  # fmt: skip
    """The cohort population matching `write_cohort_file` with the same parameters, as the
    provider's current build (earlier builds stop being current). COPY on PostgreSQL."""
    people = (
        g
        for g in sample_graduates(
            graduates,
            seed=seed,
            defect_rate=defect_rate,
            reporting_year=reporting_year,
            provider_domain=provider_domain,
        )  # fmt: skip
        if g.in_population
    )
    with transaction.atomic():
        PopulationBuild.objects.filter(provider=provider, collection=collection, is_current=True).update(
            is_current=False
        )
        build = PopulationBuild.objects.create(
            provider=provider, collection=collection, source_submission=source_submission
        )
        count = 0
        if connection.vendor == "postgresql":
            sql = f"COPY {PopulationEntry._meta.db_table} ({', '.join(POPULATION_COLUMNS)}) FROM STDIN"
            buffer = io.StringIO()
            with connection.cursor() as cursor:
                for g in people:
                    count += 1
                    fields = (g.husid, g.numhus, g.ownstu, g.fnames, g.surname, g.qual1, g.ptitle,
                              g.dateleft.isoformat(), g.domicile, g.homeeuos)  # fmt: skip
                    buffer.write("\t".join((str(build.pk), *(f.translate(COPY_ESCAPES) for f in fields))) + "\n")
                    if count % 50_000 == 0 or buffer.tell() > 1 << 22:  # in slices: memory stays flat
                        buffer.seek(0)
                        cursor.copy_expert(sql, buffer)
                        buffer = io.StringIO()
                buffer.seek(0)
                cursor.copy_expert(sql, buffer)
        else:
            batch = []
            for g in people:
                count += 1
                batch.append(
                    PopulationEntry(
                        build=build,
                        husid=g.husid,
                        numhus=g.numhus,
                        ownstu=g.ownstu,
                        fnames=g.fnames,
                        surname=g.surname,
                        qual1=g.qual1,
                        ptitle=g.ptitle,
                        dateleft=g.dateleft,
                        domicile=g.domicile,
                        homeeuos=g.homeeuos,
                    )  # fmt: skip
                )
                if len(batch) >= 5000:
                    PopulationEntry.objects.bulk_create(batch)
                    batch = []
            PopulationEntry.objects.bulk_create(batch)
        build.graduate_count = count
        build.save(update_fields=["graduate_count"])
    return build
