"""Contact details submissions built row by row for the rules' tests, without the parser:
a contact collection, a submission, its population and go_graduate / go_detail rows written
through the ORM with the pipeline's record ids. Details are normalised the way the spec says
(emails trimmed and lower-cased, phones in E.164); whether one is valid (`problem`) and the
flags are what a test gives, as the parser would have decided them.
"""

from dataclasses import dataclass
from datetime import date

import phonenumbers

from collections_app.models import CollectionKind, RuleFailure, SubmissionStatus
from collections_app.pipeline.ids import record_id
from collections_app.rules.engine import run_rules
from contacts.models import ContactDetail, DetailType, Graduate, PopulationBuild, PopulationEntry

from ..factories import CollectionFactory, SubmissionFactory

COHORTS = "ABCD"


def contact_collection(*, reporting_year: int = 2023, cohort: str = "A"):
    """The contact details collection of a year's cohort (C23071 for 2023/24 cohort A, C23072 for B, ...)."""
    return CollectionFactory(
        reference=f"C{reporting_year % 100:02d}07{COHORTS.index(cohort) + 1}",
        name=f"Graduate Outcomes contact details {reporting_year} cohort {cohort}",
        kind=CollectionKind.CONTACT_DETAILS,
        reporting_year=reporting_year,
        cohort=cohort,
    )


def husid(n: int) -> str:
    return f"{9800000000000 + n:013d}"


@dataclass(frozen=True)
class Detail:
    detail_type: str
    value: str
    problem: str = ""
    role_mailbox: bool = False
    dummy: bool = False


def email(value, **flags) -> Detail:
    return Detail(DetailType.EMAIL, value, **flags)


def ukmob(value, **flags) -> Detail:
    return Detail(DetailType.UKMOB, value, **flags)


def uktel(value, **flags) -> Detail:
    return Detail(DetailType.UKTEL, value, **flags)


def inttel(value, **flags) -> Detail:
    return Detail(DetailType.INTTEL, value, **flags)


def _classified(detail: Detail) -> dict:
    """normalised, domain, number_type and region as the parser fills them."""
    if detail.detail_type == DetailType.EMAIL:
        normalised = detail.value.strip().lower()
        return {"normalised": normalised, "domain": normalised.rpartition("@")[2]}
    region = None if detail.detail_type == DetailType.INTTEL else "GB"
    try:
        number = phonenumbers.parse(detail.value, region)
    except phonenumbers.NumberParseException:
        return {"normalised": ""}
    kind = phonenumbers.number_type(number)
    names = {v: k.lower() for k, v in vars(phonenumbers.PhoneNumberType).items() if isinstance(v, int)}
    return {
        "normalised": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        "number_type": names.get(kind, ""),
        "region": phonenumbers.region_code_for_number(number) or "",
    }


class ContactFile:
    """One contact details submission of `provider` for `collection`, filled by graduate(...).

    Every graduate is put in the population (HOMEEUOS `homeeuos`) unless in_population=False;
    population_only(...) adds population graduates the file leaves out."""

    def __init__(self, provider, collection, *, status=SubmissionStatus.PASSED, uploaded_by=None):
        extra = {"uploaded_by": uploaded_by} if uploaded_by else {}
        self.provider = provider
        self.collection = collection
        self.submission = SubmissionFactory(provider=provider, collection=collection, status=status, **extra)
        self._position = 0
        self._line = 2
        self._graduates = []
        self._details = []
        self._entries = []

    @property
    def build(self) -> PopulationBuild:
        build = PopulationBuild.objects.filter(
            provider=self.provider, collection=self.collection, is_current=True
        ).first()
        if build is None:
            build = PopulationBuild.objects.create(
                provider=self.provider, collection=self.collection, source_submission=self.submission
            )
        return build

    def _next_id(self) -> int:
        self._position += 1
        return record_id(self.submission.pk, self._position)

    def population_only(self, husid_, numhus="1", *, homeeuos="1", fnames="Pat", surname="Smith"):
        self._entries.append(
            PopulationEntry(
                husid=husid_,
                numhus=numhus,
                fnames=fnames,
                surname=surname,
                qual1="BA",
                dateleft=date(self.collection.reporting_year, 9, 30),
                domicile={"1": "XF", "2": "FR", "3": "CN", "4": "ZZ"}[homeeuos],
                homeeuos=homeeuos,
            )
        )

    def graduate(self, husid_, *details: Detail, numhus="1", gradstatus="", homeeuos="1", in_population=True):
        graduate = Graduate(
            id=self._next_id(),
            submission_id=self.submission.pk,
            line=self._line,
            husid=husid_,
            numhus=numhus,
            gradstatus=gradstatus,
        )
        self._graduates.append(graduate)
        for offset, detail in enumerate(details, start=1):
            self._details.append(
                ContactDetail(
                    id=self._next_id(),
                    submission_id=self.submission.pk,
                    graduate_id=graduate.id,
                    line=self._line + offset,
                    husid=husid_,
                    numhus=numhus,
                    detail_type=detail.detail_type,
                    value=detail.value,
                    problem=detail.problem,
                    role_mailbox=detail.role_mailbox,
                    dummy=detail.dummy,
                    **_classified(detail),
                )
            )
        self._line += len(details) + 2
        if in_population:
            self.population_only(husid_, numhus, homeeuos=homeeuos)
        return graduate

    def save(self):
        """Write what graduate(...) and population_only(...) gathered; returns the submission."""
        Graduate.objects.bulk_create(self._graduates)
        ContactDetail.objects.bulk_create(self._details)
        if self._entries:
            build = self.build
            for entry in self._entries:
                entry.build = build
            PopulationEntry.objects.bulk_create(self._entries)
        self._graduates, self._details, self._entries = [], [], []
        return self.submission

    def run(self) -> dict[str, list[RuleFailure]]:
        """Save, run the contact rules, and return the failures by code (in line, HUSID order)."""
        submission = self.save()
        run_rules(submission)
        found = {}
        for failure in RuleFailure.objects.filter(submission=submission).order_by("code", "line", "husid", "value"):
            found.setdefault(failure.code, []).append(failure)
        return found
