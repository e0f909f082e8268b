"""A cohort's population: every graduate of the provider's approved Student record of the
collection's year whose course ended in the cohort's window (spec: "Population").

`population_build` writes a new build in one set-based INSERT … SELECT, makes it the current
one (the previous build is kept, no longer current) and counts in SQL what changed against it.
The rest of the module reads builds for the population page, the API and the downloads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from xml.sax.saxutils import escape

from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from accounts import permissions
from accounts.models import Provider
from collections_app.models import Collection, CollectionKind, Submission, approved_data
from core.audit import audit_record

# The DOMICILE groups are shared with the credibility tables; re-exported for callers of this module.
from core.domicile import EU_MEMBER_STATES, UK_DOMICILES, homeeuos_of, homeeuos_sql  # noqa: F401
from core.errors import ActionRefused
from core.formatting import uk_datetime_text
from core.sorting import resolve_sort

from .models import HomeEuOs, PopulationBuild, PopulationEntry

logger = logging.getLogger(__name__)


_INSERT = f"""
INSERT INTO go_population_entry
    (build_id, husid, numhus, ownstu, fnames, surname, qual1, ptitle, dateleft, domicile, homeeuos)
SELECT %(build)s, i.husid, i.numhus, COALESCE(s.ownstu, ''), s.fnames, s.surname, i.qual1, i.ptitle, i.dateleft,
       COALESCE(i.domicile, ''), {homeeuos_sql("i.domicile")}
FROM sr_instance i
JOIN sr_student s ON s.id = i.student_id AND s.submission_id = i.submission_id
WHERE i.submission_id = %(source)s
  AND i.qual1 IS NOT NULL AND i.qual1 <> ''
  AND i.dateleft >= %(window_from)s AND i.dateleft <= %(window_to)s
ORDER BY i.id
"""

# What changed against the previous build, by graduate (HUSID + NUMHUS).
_CHANGES = """
SELECT
  (SELECT COUNT(*) FROM go_population_entry n WHERE n.build_id = %(new)s AND NOT EXISTS (
     SELECT 1 FROM go_population_entry o
     WHERE o.build_id = %(old)s AND o.husid = n.husid AND o.numhus = n.numhus)),
  (SELECT COUNT(*) FROM go_population_entry o WHERE o.build_id = %(old)s AND NOT EXISTS (
     SELECT 1 FROM go_population_entry n
     WHERE n.build_id = %(new)s AND n.husid = o.husid AND n.numhus = o.numhus)),
  (SELECT COUNT(*) FROM go_population_entry n
   JOIN go_population_entry o ON o.build_id = %(old)s AND o.husid = n.husid AND o.numhus = n.numhus
   WHERE n.build_id = %(new)s AND (
     n.ownstu <> o.ownstu OR n.fnames <> o.fnames OR n.surname <> o.surname OR n.qual1 <> o.qual1
     OR n.ptitle <> o.ptitle OR n.dateleft <> o.dateleft OR n.domicile <> o.domicile))
"""


def population_source(*, provider: Provider, collection: Collection) -> Submission | None:
    """The provider's approved Student record of the collection's reporting year (the latest
    uploaded, should the year have more than one Student record collection approved)."""
    return (
        Submission.objects.filter(
            approved_data(),
            provider=provider,
            collection__kind=CollectionKind.STUDENT_RECORD,
            collection__reporting_year=collection.reporting_year,
        )
        .select_related("collection")
        .order_by("-uploaded_at", "-id")
        .first()
    )


def no_source_message(collection: Collection) -> str:
    return (
        f"There is no approved Student record for {collection.reporting_year_label} yet, so "
        f"{collection.reference}'s population cannot be built: it is built from the approved data as soon "
        f"as a Student record for {collection.reporting_year_label} is approved."
    )


def population_build(*, provider: Provider, collection: Collection, user=None) -> PopulationBuild:
    """Build the provider's population for a contact details collection (a cohort) from its
    approved Student record of that year, as the new current build. `user` None: the system
    (a rebuild after an approval)."""
    if user is not None:
        permissions.require(
            permissions.is_liaison(user) or permissions.is_staff_of(user, provider),
            "Only the provider's own staff or Liaison can rebuild its population.",
        )
    if collection.kind != CollectionKind.CONTACT_DETAILS or collection.course_end_window is None:
        raise ActionRefused(
            f"{collection.reference} is not a Graduate Outcomes contact details collection with a cohort: "
            "it has no population.",
            code="not_contact_details",
        )
    if collection.phase() == "closed":
        raise ActionRefused(
            f"{collection.reference} closed on {uk_datetime_text(collection.closes_at)}: its population "
            "stays as it was built.",
            code="collection_closed",
        )
    window_from, window_to = collection.course_end_window
    with transaction.atomic():
        # One build at a time per provider: the previous current build is read and replaced together.
        list(Provider.objects.select_for_update().filter(pk=provider.pk).values_list("pk", flat=True))
        source = population_source(provider=provider, collection=collection)
        if source is None:
            raise ActionRefused(no_source_message(collection), code="no_approved_student_record")
        previous = PopulationBuild.objects.filter(provider=provider, collection=collection, is_current=True).first()
        if previous is not None:
            PopulationBuild.objects.filter(pk=previous.pk).update(is_current=False)
        build = PopulationBuild.objects.create(
            provider=provider, collection=collection, source_submission=source, built_at=timezone.now()
        )
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT,
                {"build": build.pk, "source": source.pk, "window_from": window_from, "window_to": window_to},
            )
            if previous is not None:
                cursor.execute(_CHANGES, {"new": build.pk, "old": previous.pk})
                build.added, build.removed, build.changed = cursor.fetchone()
        build.graduate_count = PopulationEntry.objects.filter(build=build).count()
        build.save(update_fields=["graduate_count", "added", "removed", "changed"])
        audit_record(
            actor=user,
            action="population.built" if previous is None else "population.rebuilt",
            summary=population_change_text(build),
            provider=provider,
            collection=collection,
            submission=source,
            details={
                "build": build.pk,
                "graduates": build.graduate_count,
                "previous_build": previous.pk if previous else None,
                "added": build.added,
                "removed": build.removed,
                "changed": build.changed,
            },
        )
    return build


def population_rebuild_after_approval(*, submission: Submission) -> list[PopulationBuild]:
    """An approved Student record changes the populations of its year: rebuild the provider's
    population of every contact details collection of that year that is not closed."""
    if submission.collection.kind != CollectionKind.STUDENT_RECORD:
        return []
    builds = []
    collections = Collection.objects.filter(
        kind=CollectionKind.CONTACT_DETAILS, reporting_year=submission.collection.reporting_year
    ).exclude(cohort="")
    for collection in collections.order_by("reference"):
        if collection.phase() == "closed":
            continue
        try:
            builds.append(population_build(provider=submission.provider, collection=collection))
        except ActionRefused as refused:  # one cohort refusing (closed meanwhile) leaves the others
            logger.warning("Population of %s not rebuilt: %s", collection.reference, refused.message)
    return builds


def population_change_text(build: PopulationBuild) -> str:
    """'Rebuilt on 28 Nov 2026, 14:02 from submission 123: 12 added, 3 removed, 5 changed.'"""
    when = uk_datetime_text(build.built_at)
    head = f"{'Built' if build.added is None else 'Rebuilt'} on {when} from submission {build.source_submission_id}"
    if build.added is None:
        return f"{head}: {build.graduate_count} graduate{'s' if build.graduate_count != 1 else ''}."
    return f"{head}: {build.added} added, {build.removed} removed, {build.changed} changed."


# -- reads ---------------------------------------------------------------------------------------


def population_current(*, provider: Provider, collection: Collection) -> PopulationBuild | None:
    return (
        PopulationBuild.objects.filter(provider=provider, collection=collection, is_current=True)
        .select_related("source_submission", "source_submission__collection")
        .first()
    )


def population_history(*, provider: Provider, collection: Collection) -> QuerySet[PopulationBuild]:
    return PopulationBuild.objects.filter(provider=provider, collection=collection).order_by("-built_at", "-id")


POPULATION_SORTS = {
    "husid": ("husid", "numhus"),
    "numhus": ("numhus", "husid"),
    "surname": ("surname", "fnames", "husid"),
    "qual1": ("qual1", "husid", "numhus"),
    "dateleft": ("dateleft", "husid", "numhus"),
    "homeeuos": ("homeeuos", "husid", "numhus"),
}


def population_entries(
    *, build: PopulationBuild, husid: str = "", surname: str = "", sort: str = ""
) -> tuple[QuerySet[PopulationEntry], str]:
    """The build's graduates, filtered by HUSID prefix and surname (contains, any case), sorted;
    and the sort in effect."""
    order, sort = resolve_sort(sort or "", allowed=POPULATION_SORTS, default="husid")
    entries = PopulationEntry.objects.filter(build=build)
    if husid.strip():
        entries = entries.filter(husid__startswith=husid.strip())
    if surname.strip():
        entries = entries.filter(surname__icontains=surname.strip())
    return entries.order_by(*order, "id"), sort


def population_counts(*, build: PopulationBuild) -> dict:
    """Totals by HOMEEUOS (every code, zero included) and by QUAL1."""
    entries = PopulationEntry.objects.filter(build=build)
    by_home = dict(entries.values_list("homeeuos").annotate(n=Count("id")).values_list("homeeuos", "n"))
    by_qual1 = list(entries.values("qual1").annotate(n=Count("id")).order_by("qual1").values_list("qual1", "n"))
    return {
        "total": build.graduate_count,
        "by_homeeuos": [(code, label, by_home.get(code, 0)) for code, label in HomeEuOs.choices],
        "by_qual1": by_qual1,
    }


# -- downloads -----------------------------------------------------------------------------------

POPULATION_FIELDS = (
    "husid",
    "numhus",
    "ownstu",
    "fnames",
    "surname",
    "qual1",
    "ptitle",
    "dateleft",
    "domicile",
    "homeeuos",
)
POPULATION_HEADER = [field.upper() for field in POPULATION_FIELDS]
# The XML download's Graduate elements, in order (PTITLE and DOMICILE are in the CSV only).
XML_FIELDS = ("husid", "numhus", "ownstu", "fnames", "surname", "qual1", "dateleft", "homeeuos")


def population_rows(entries: QuerySet[PopulationEntry]) -> Iterator[list]:
    for values in entries.values_list(*POPULATION_FIELDS).iterator(chunk_size=2000):
        yield [
            value.isoformat() if field == "dateleft" else value
            for field, value in zip(POPULATION_FIELDS, values, strict=True)
        ]


def population_xml(*, build: PopulationBuild, entries: QuerySet[PopulationEntry]) -> Iterator[str]:
    """The population as XML, streamed:
    <ContactPopulation><Provider><RECID/><UKPRN/><Graduate><HUSID/>…</Graduate>…</Provider></ContactPopulation>."""
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<ContactPopulation>\n  <Provider>\n'
    yield f"    <RECID>{escape(build.collection.recid)}</RECID>\n    <UKPRN>{escape(build.provider.ukprn)}</UKPRN>\n"
    for values in entries.values_list(*XML_FIELDS).iterator(chunk_size=2000):
        parts = ["    <Graduate>\n"]
        for field, value in zip(XML_FIELDS, values, strict=True):
            text = value.isoformat() if field == "dateleft" else value
            if text in (None, ""):
                continue  # an empty OWNSTU is left out rather than sent empty
            parts.append(f"      <{field.upper()}>{escape(str(text))}</{field.upper()}>\n")
        parts.append("    </Graduate>\n")
        yield "".join(parts)
    yield "  </Provider>\n</ContactPopulation>\n"


def population_filename(build: PopulationBuild, extension: str) -> str:
    """Named as the portal's other downloads are: C23071-10007794-population.csv."""
    return f"{build.collection.reference}-{build.provider.ukprn}-population.{extension}"
