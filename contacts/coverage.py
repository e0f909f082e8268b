"""Coverage figures of a contact details submission (reads only): how many graduates have at least
one personal email, a mobile, any usable contact, nothing usable; by HOMEEUOS; and the same for the
provider's previous cohort (its approved submission), to compare.

- personal email: an EMAIL the rules found valid (problem empty), not a role mailbox, and not in one
  of the provider's own domains (Provider.email_domains, subdomains included);
- mobile: a valid UKMOB, or a valid INTTEL whose number type is mobile;
- any usable contact: any valid detail that is not a role mailbox or a dummy number (a provider-domain
  email counts: it works until it expires);
- nothing usable: the rest (graduates with a GRADSTATUS are among them: they have no details).

HOMEEUOS comes from the current population build of the provider and cohort (matched on HUSID and
NUMHUS); a graduate missing from it counts as 4, not known. Each submission's figures are one query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection

from collections_app.models import Cohort, Collection, CollectionKind, Submission, approved_data

from .models import DetailType, HomeEuOs, PopulationBuild

MEASURES = (
    ("personal_email", "With a personal email"),
    ("mobile", "With a mobile"),
    ("any_contact", "With any usable contact"),
    ("nothing", "With nothing usable"),
)
MOBILE_NUMBER_TYPES = ("mobile",)
CENT = Decimal("0.01")


def percent_of(count: int, total: int) -> Decimal:
    """Rounded to 2 places (11 of 13 is 84.62, 1 in 300 is 0.33), except that some but not all is
    never shown as 0.00 or 100.00: a reader takes those for none and every graduate."""
    if total <= 0:
        return Decimal(0)
    percent = (Decimal(count) * 100 / Decimal(total)).quantize(CENT, rounding=ROUND_HALF_UP)
    if count > 0 and percent == 0:
        return CENT
    if count < total and percent == 100:
        return Decimal(100) - CENT
    return percent


@dataclass
class Figures:
    graduates: int = 0
    personal_email: int = 0
    mobile: int = 0
    any_contact: int = 0

    @property
    def nothing(self) -> int:
        return self.graduates - self.any_contact

    def count(self, measure: str) -> int:
        return getattr(self, measure)

    def percent(self, measure: str) -> Decimal:
        return percent_of(self.count(measure), self.graduates)

    def add(self, other: Figures) -> None:
        self.graduates += other.graduates
        self.personal_email += other.personal_email
        self.mobile += other.mobile
        self.any_contact += other.any_contact


@dataclass
class SubmissionCoverage:
    submission_id: int
    total: Figures = field(default_factory=Figures)
    by_homeeuos: dict[str, Figures] = field(default_factory=dict)  # every HOMEEUOS code, in order


@dataclass
class Coverage:
    current: SubmissionCoverage
    previous_collection: Collection | None = None
    previous: SubmissionCoverage | None = None  # None: no approved submission of the previous cohort


def _flags_sql(*, domains: list[str]) -> tuple[str, list]:
    """One row per graduate of a submission: its line, HIN, GRADSTATUS, HOMEEUOS, names from the
    population, and 0/1 flags for the measures. Parameters: build id, submission id."""
    own = " OR ".join(["d.domain = %s OR d.domain LIKE %s"] * len(domains)) or "1 = 0"
    own_params = [value for domain in domains for value in (domain, f"%.{domain}")]
    mobiles = ", ".join(["%s"] * len(MOBILE_NUMBER_TYPES))
    sql = f"""
        SELECT g.id, g.line, g.husid, g.numhus, g.gradstatus,
               COALESCE(p.homeeuos, '{HomeEuOs.NOT_KNOWN.value}') AS homeeuos,
               COALESCE(p.fnames, '') AS fnames, COALESCE(p.surname, '') AS surname,
               MAX(CASE WHEN d.detail_type = '{DetailType.EMAIL.value}' AND NOT d.role_mailbox
                        AND NOT ({own}) THEN 1 ELSE 0 END) AS personal_email,
               MAX(CASE WHEN d.detail_type = '{DetailType.UKMOB.value}'
                        OR (d.detail_type = '{DetailType.INTTEL.value}' AND d.number_type IN ({mobiles}))
                        THEN 1 ELSE 0 END) AS mobile,
               MAX(CASE WHEN d.id IS NOT NULL AND NOT d.role_mailbox AND NOT d.dummy THEN 1 ELSE 0 END)
                   AS any_contact
        FROM go_graduate g
        LEFT JOIN go_detail d ON d.submission_id = g.submission_id AND d.graduate_id = g.id AND d.problem = ''
        LEFT JOIN (
            SELECT husid, numhus, MIN(homeeuos) AS homeeuos, MIN(fnames) AS fnames, MIN(surname) AS surname
            FROM go_population_entry WHERE build_id = %s GROUP BY husid, numhus
        ) p ON p.husid = g.husid AND p.numhus = g.numhus
        WHERE g.submission_id = %s
        GROUP BY g.id, g.line, g.husid, g.numhus, g.gradstatus, p.homeeuos, p.fnames, p.surname
    """
    return sql, [*own_params, *MOBILE_NUMBER_TYPES]


def _build_id(submission: Submission) -> int:
    build = (
        PopulationBuild.objects.filter(
            provider_id=submission.provider_id, collection_id=submission.collection_id, is_current=True
        )
        .values_list("id", flat=True)
        .first()
    )
    return build or 0


def submission_coverage(*, submission: Submission) -> SubmissionCoverage:
    """The figures of one submission, in total and per HOMEEUOS (one query)."""
    flags, params = _flags_sql(domains=list(submission.provider.email_domains or []))
    sql = f"""
        SELECT homeeuos, COUNT(*), SUM(personal_email), SUM(mobile), SUM(any_contact)
        FROM ({flags}) flags GROUP BY homeeuos
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, _build_id(submission), submission.pk])
        rows = cursor.fetchall()
    result = SubmissionCoverage(submission.pk, by_homeeuos={code: Figures() for code in HomeEuOs.values})
    for code, graduates, personal_email, mobile, any_contact in rows:
        figures = Figures(graduates, int(personal_email or 0), int(mobile or 0), int(any_contact or 0))
        result.by_homeeuos.setdefault(code, Figures()).add(figures)
        result.total.add(figures)
    return result


def previous_cohort_collection(*, collection: Collection) -> Collection | None:
    """The cohort before: B's is A of the same year, A's is D of the year before."""
    if collection.kind != CollectionKind.CONTACT_DETAILS or not collection.cohort:
        return None
    letters = list(Cohort.values)
    index = letters.index(collection.cohort)
    year, cohort = (collection.reporting_year, letters[index - 1]) if index else (collection.reporting_year - 1, "D")
    return (
        Collection.objects.filter(kind=CollectionKind.CONTACT_DETAILS, reporting_year=year, cohort=cohort)
        .order_by("reference")
        .first()
    )


def coverage_for(*, submission: Submission) -> Coverage:
    """A submission's figures and those of the provider's approved submission of the previous cohort."""
    coverage = Coverage(current=submission_coverage(submission=submission))
    coverage.previous_collection = previous_cohort_collection(collection=submission.collection)
    if coverage.previous_collection is not None:
        previous = (
            Submission.objects.filter(
                approved_data(), provider_id=submission.provider_id, collection=coverage.previous_collection
            )
            .select_related("provider")
            .first()
        )
        if previous is not None:
            coverage.previous = submission_coverage(submission=previous)
    return coverage


def measure_rows(result: Coverage) -> list[dict]:
    """Per measure: this submission's count and percentage, the previous cohort's, and the change in points."""
    rows = []
    for measure, label in MEASURES:
        current = result.current.total
        previous = result.previous.total if result.previous else None
        row = {
            "measure": measure,
            "label": label,
            "count": current.count(measure),
            "percent": current.percent(measure),
            "previous_count": previous.count(measure) if previous else None,
            "previous_percent": previous.percent(measure) if previous else None,
        }
        row["change"] = row["percent"] - row["previous_percent"] if previous else None
        rows.append(row)
    return rows


def homeeuos_rows(result: Coverage) -> list[dict]:
    """Per HOMEEUOS code (all four, 4 not known included): graduates and each measure, both cohorts."""
    labels = dict(HomeEuOs.choices)
    rows = []
    for code, figures in result.current.by_homeeuos.items():
        previous = result.previous.by_homeeuos.get(code) if result.previous else None
        rows.append(
            {
                "homeeuos": code,
                "label": f"{code} {labels.get(code, '')}".strip(),
                "graduates": figures.graduates,
                "measures": [
                    {
                        "measure": measure,
                        "count": figures.count(measure),
                        "percent": figures.percent(measure),
                        "previous_count": previous.count(measure) if previous else None,
                        "previous_percent": previous.percent(measure) if previous else None,
                    }
                    for measure, _ in MEASURES
                ],
                "previous_graduates": previous.graduates if previous else None,
            }
        )
    return rows


@dataclass
class Unreachable:
    line: int
    husid: str
    numhus: str
    gradstatus: str
    homeeuos: str
    fnames: str
    surname: str


def nothing_usable(*, submission: Submission) -> list[Unreachable]:
    """The graduates with no usable contact detail, in file order (one query)."""
    flags, params = _flags_sql(domains=list(submission.provider.email_domains or []))
    sql = f"""
        SELECT line, husid, numhus, gradstatus, homeeuos, fnames, surname
        FROM ({flags}) flags WHERE any_contact = 0 ORDER BY line, id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, _build_id(submission), submission.pk])
        return [Unreachable(*row) for row in cursor.fetchall()]


def is_contact_submission(submission: Submission) -> bool:
    return submission.collection.kind == CollectionKind.CONTACT_DETAILS
