"""Reads for contact details: the provider's current contact submission, the details it gives for
several graduates at once (with the reasons recorded for them), and its graduates as stored."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby

from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Sum, Value, When

from collections_app.models import Collection, Submission
from collections_app.selectors import current_submission

from .models import (
    ContactDetail,
    DetailFamily,
    DetailType,
    Graduate,
    PopulationBuild,
    PopulationEntry,
    SharedDetailReason,
)
from .xmlwrite import DETAIL_ELEMENTS, GraduateDetails

# What a detail is compared as: emails with emails, every kind of phone with every other (E.164).
FAMILY_OF = Case(When(detail_type=DetailType.EMAIL, then=Value(DetailFamily.EMAIL)), default=Value(DetailFamily.PHONE))


def family_of(detail_type: str) -> str:
    return DetailFamily.EMAIL if detail_type == DetailType.EMAIL else DetailFamily.PHONE


def current_contact_submission(*, provider, collection: Collection) -> Submission | None:
    """The provider's latest completed (failed, passed or approved) upload of a contact details
    collection: the same choice as for every kind (collections_app.selectors.current_submission)."""
    return current_submission(provider=provider, collection=collection)


# -- shared details ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedGraduate:
    husid: str
    numhus: str
    element: str  # EMAIL, UKMOB, UKTEL or INTTEL
    value: str  # as given in the file
    line: int


@dataclass
class SharedDetail:
    """One email or phone (by its normalised form) given for two or more graduates."""

    family: str
    normalised: str
    graduates: list[SharedGraduate] = field(default_factory=list)
    reason: SharedDetailReason | None = None

    @property
    def graduate_count(self) -> int:
        return len({(g.husid, g.numhus) for g in self.graduates})

    @property
    def family_label(self) -> str:
        return DetailFamily(self.family).label

    @property
    def reason_choices(self) -> list[tuple[str, str]]:
        """The reasons offered for this detail: those that fit an email or a phone."""
        return SharedDetailReason.choices_for(self.family, recorded=self.reason.reason if self.reason else "")


def _shared_values(submission: Submission, family: str | None = None) -> QuerySet:
    rows = ContactDetail.objects.filter(submission=submission).annotate(family=FAMILY_OF)
    if family:
        rows = rows.filter(family=family)
    return (
        rows.values("family", "normalised")
        .annotate(graduates=Count("graduate_id", distinct=True))
        .filter(graduates__gte=2)
        .order_by("family", "normalised")
    )


def is_shared(*, submission: Submission, family: str, normalised: str) -> bool:
    """Whether the submission gives this detail for two or more graduates."""
    return _shared_values(submission, family).filter(normalised=normalised).exists()


def reasons_for(*, provider, collection: Collection) -> QuerySet[SharedDetailReason]:
    """The provider's reasons for the collection: they carry from upload to upload."""
    return SharedDetailReason.objects.filter(provider=provider, collection=collection).select_related("recorded_by")


def shared_details(
    *, submission: Submission, family: str | None = None, has_reason: bool | None = None
) -> list[SharedDetail]:
    """Every email and every phone given for 2+ graduates of `submission`, grouped by detail (emails
    first, then phones, each in normalised order), each graduate with the element and the value as
    given, and the reason recorded for it, if any. `has_reason` keeps only those with (or without) one."""
    values = list(_shared_values(submission, family))
    if not values:
        return []
    reasons = {
        (r.family, r.normalised): r
        for r in reasons_for(provider=submission.provider_id, collection=submission.collection_id).filter(
            normalised__in={v["normalised"] for v in values}
        )
    }
    groups = {(v["family"], v["normalised"]): SharedDetail(v["family"], v["normalised"]) for v in values}
    rows = (
        ContactDetail.objects.filter(submission=submission, normalised__in={v["normalised"] for v in values})
        .annotate(family=FAMILY_OF)
        .order_by("husid", "numhus", "line", "id")
        .values_list("family", "normalised", "husid", "numhus", "detail_type", "value", "line")
    )
    for fam, normalised, husid, numhus, element, value, line in rows:
        group = groups.get((fam, normalised))
        if group is not None:  # the same text may be shared as an email but not as a phone
            group.graduates.append(SharedGraduate(husid, numhus, element, value, line))
    result = []
    for key, group in groups.items():
        group.reason = reasons.get(key)
        if has_reason is None or has_reason == (group.reason is not None):
            result.append(group)
    return result


# -- graduates as stored ---------------------------------------------------------------------------


def graduates_for(*, submission: Submission, search: str | None = None) -> QuerySet[Graduate]:
    """The submission's graduates in file order; `search` is a HUSID prefix."""
    queryset = Graduate.objects.filter(submission=submission).order_by("line", "id")
    if search and search.strip():
        queryset = queryset.filter(husid__startswith=search.strip())
    return queryset.annotate(detail_count=Count("details"))


def graduate_get(*, submission: Submission, husid: str, numhus: str) -> Graduate | None:
    return Graduate.objects.filter(submission=submission, husid=husid, numhus=numhus).order_by("line").first()


def graduate_details(graduate: Graduate) -> dict[str, list[str]]:
    """Element -> values as given, in file order (every element present, perhaps empty)."""
    details: dict[str, list[str]] = {element: [] for element in DETAIL_ELEMENTS}
    rows = ContactDetail.objects.filter(submission=graduate.submission_id, graduate=graduate.pk).order_by("line", "id")
    for element, value in rows.values_list("detail_type", "value"):
        details.setdefault(element, []).append(value)
    return details


def graduates_as_stored(*, submission: Submission) -> Iterator[GraduateDetails]:
    """Every graduate of the submission as stored (values as given), in file order, streamed from
    the database: graduates and their details are read side by side, both in graduate order."""
    graduates = (
        Graduate.objects.filter(submission=submission)
        .order_by("line", "id")
        .values_list("id", "husid", "numhus", "gradstatus")
        .iterator(chunk_size=2000)
    )
    details = groupby(
        ContactDetail.objects.filter(submission=submission)
        .order_by("graduate__line", "graduate_id", "line", "id")
        .values_list("graduate_id", "detail_type", "value")
        .iterator(chunk_size=2000),
        key=lambda row: row[0],
    )
    pending = next(details, None)
    for pk, husid, numhus, gradstatus in graduates:
        found: dict[str, list[str]] = {}
        if pending is not None and pending[0] == pk:
            for _, element, value in pending[1]:
                found.setdefault(element, []).append(value)
            pending = next(details, None)
        yield GraduateDetails(husid=husid, numhus=numhus, gradstatus=gradstatus, details=found)


# -- population --------------------------------------------------------------------------------


def population_build(*, provider, collection: Collection) -> PopulationBuild | None:
    return PopulationBuild.objects.filter(provider=provider, collection=collection, is_current=True).first()


def graduate_names(submission: Submission, keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """{(HUSID, NUMHUS): (FNAMES, SURNAME)} of the graduates `keys` name, from the cohort's current
    population (a contact details file carries no names): the failures screens, API and CSV show
    who a failure is about. One query; a graduate outside the population has no name."""
    build = population_build(provider=submission.provider_id, collection=submission.collection_id)
    if build is None or not keys:
        return {}
    entries = PopulationEntry.objects.filter(build=build, husid__in={husid for husid, _ in keys})
    return {
        (husid, numhus): (fnames, surname)
        for husid, numhus, fnames, surname in entries.values_list("husid", "numhus", "fnames", "surname")
        if (husid, numhus) in keys
    }


def graduates_named(submission: Submission, text: str) -> QuerySet:
    """The HUSIDs of the cohort's graduates whose first names or surname contain `text` (a subquery
    for a search of the failures, whose rows carry no names)."""
    build = population_build(provider=submission.provider_id, collection=submission.collection_id)
    if build is None:
        return PopulationEntry.objects.none().values("husid")
    return PopulationEntry.objects.filter(Q(surname__icontains=text) | Q(fnames__icontains=text), build=build).values(
        "husid"
    )


def population_not_in(*, build: PopulationBuild, submission: Submission | None) -> QuerySet[PopulationEntry]:
    """The build's graduates that have no Graduate in `submission` (candidates for "Add a graduate")."""
    entries = PopulationEntry.objects.filter(build=build).order_by("husid", "numhus")
    if submission is None:
        return entries
    in_file = Graduate.objects.filter(submission=submission, husid=OuterRef("husid"), numhus=OuterRef("numhus"))
    return entries.exclude(Exists(in_file))


def merged_details(*, submission: Submission) -> int:
    """Details given twice for the same graduate in the file, kept once (the parser's count)."""
    return Graduate.objects.filter(submission=submission).aggregate(n=Sum("merged"))["n"] or 0
