"""Writes for collections (liaison only): create and update, with the deadline rules."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from core.audit import audit_record

from . import cohorts
from .cohorts import COHORTS, cohort_schedule, london
from .models import Collection, CollectionKind

# Fields a collection can be created or updated with.
COLLECTION_FIELDS = (
    "reference",
    "name",
    "kind",
    "reporting_year",
    "cohort",
    "opens",
    "approval_deadline",
    "final_updates_deadline",
    "contact_period_start",
    "contact_period_end",
    "previous",
)


# Filled from the cohort's schedule when a contact details collection leaves them blank.
SCHEDULE_FIELDS = ("opens", "approval_deadline", "final_updates_deadline", "contact_period_start", "contact_period_end")


def collection_schedule_defaults(*, kind: str, reporting_year: int | None, cohort: str, values: dict) -> dict:
    """`values` (the SCHEDULE_FIELDS given) with the blank ones filled for a contact details
    collection: the contact period from year and cohort, then the deadlines from that period
    (the one given, if liaison set it). Other kinds, or no year or cohort: unchanged."""
    filled = dict(values)
    if kind != CollectionKind.CONTACT_DETAILS or not reporting_year or cohort not in COHORTS:
        return filled
    schedule = cohort_schedule(int(reporting_year), cohort)
    start = filled.get("contact_period_start") or schedule.contact_period_start
    end = filled.get("contact_period_end") or schedule.contact_period_end
    filled["contact_period_start"], filled["contact_period_end"] = start, end
    if not filled.get("approval_deadline"):
        filled["approval_deadline"] = cohorts.approval_deadline_for(start)
    if not filled.get("final_updates_deadline"):
        filled["final_updates_deadline"] = cohorts.final_updates_deadline_for(end)
    if not filled.get("opens"):
        filled["opens"] = cohorts.opens_for(start)
    return filled


def collection_check(
    *,
    kind: str,
    reporting_year: int | None,
    opens: datetime | None,
    approval_deadline: datetime | None,
    final_updates_deadline: datetime | None = None,
    cohort: str = "",
    contact_period_start: date | None = None,
    contact_period_end: date | None = None,
    previous: Collection | None = None,
    collection: Collection | None = None,
) -> None:
    """The rules across fields, as a ValidationError keyed by field. Forms call this too."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if opens and approval_deadline and approval_deadline <= opens:
        add("approval_deadline", "The approval deadline must be after the collection opens.")
    if final_updates_deadline and approval_deadline and final_updates_deadline < approval_deadline:
        add("final_updates_deadline", "The final-updates deadline cannot be before the approval deadline.")

    if kind == CollectionKind.CONTACT_DETAILS:
        if not cohort:
            add("cohort", "Choose the Graduate Outcomes cohort for a contact details collection.")
        if not contact_period_start:
            add("contact_period_start", "Give the start of the contact period for a contact details collection.")
        if not contact_period_end:
            add("contact_period_end", "Give the end of the contact period for a contact details collection.")
        if contact_period_start and contact_period_end and contact_period_end < contact_period_start:
            add("contact_period_end", "The contact period cannot end before it starts.")
        # Details are approved before the survey starts contacting, and final updates end before it stops.
        if approval_deadline and contact_period_start and approval_deadline >= london(contact_period_start, time(0)):
            add(
                "approval_deadline",
                "The approval deadline must be before the contact period starts "
                f"({_audit_value(contact_period_start)}).",
            )
        if (
            final_updates_deadline
            and contact_period_end
            and final_updates_deadline >= london(contact_period_end + timedelta(days=1), time(0))
        ):
            add(
                "final_updates_deadline",
                "The final-updates deadline must be before the contact period ends "
                f"({_audit_value(contact_period_end)}).",
            )
    else:
        if cohort:
            add("cohort", "Only contact details collections have a cohort. Leave it empty.")
        if contact_period_start or contact_period_end:
            add("contact_period_start", "Only contact details collections have a contact period. Leave it empty.")

    if previous is not None:
        if collection is not None and collection.pk and previous.pk == collection.pk:
            add("previous", "A collection cannot be its own previous collection.")
        elif previous.kind != kind:
            add("previous", "The previous collection must be of the same kind.")
        elif reporting_year is not None and previous.reporting_year >= reporting_year:
            add("previous", "The previous collection must be for an earlier reporting year.")

    if errors:
        raise ValidationError(errors)


def _save(collection: Collection, data: dict) -> Collection:
    unknown = set(data) - set(COLLECTION_FIELDS)
    if unknown:
        raise TypeError(f"Unknown collection fields: {', '.join(sorted(unknown))}")
    for name, value in data.items():
        setattr(collection, name, value)
    if collection.cohort is None:
        collection.cohort = ""
    defaults = collection_schedule_defaults(
        kind=collection.kind,
        reporting_year=collection.reporting_year,
        cohort=collection.cohort,
        values={name: getattr(collection, name) for name in SCHEDULE_FIELDS},
    )
    for name, value in defaults.items():
        setattr(collection, name, value)
    collection_check(
        kind=collection.kind,
        reporting_year=collection.reporting_year,
        opens=collection.opens,
        approval_deadline=collection.approval_deadline,
        final_updates_deadline=collection.final_updates_deadline,
        cohort=collection.cohort,
        contact_period_start=collection.contact_period_start,
        contact_period_end=collection.contact_period_end,
        previous=collection.previous,
        collection=collection,
    )
    collection.full_clean()
    collection.save()
    return collection


def collection_create(
    *,
    actor=None,
    reference: str,
    name: str,
    kind: str,
    reporting_year: int,
    opens: datetime | None = None,
    approval_deadline: datetime | None = None,
    final_updates_deadline: datetime | None = None,
    cohort: str = "",
    contact_period_start: date | None = None,
    contact_period_end: date | None = None,
    previous: Collection | None = None,
) -> Collection:
    with transaction.atomic():
        collection = _save(
            Collection(),
            {
                "reference": reference,
                "name": name,
                "kind": kind,
                "reporting_year": reporting_year,
                "opens": opens,
                "approval_deadline": approval_deadline,
                "final_updates_deadline": final_updates_deadline,
                "cohort": cohort,
                "contact_period_start": contact_period_start,
                "contact_period_end": contact_period_end,
                "previous": previous,
            },
        )
        audit_record(
            actor=actor,
            action="collection.created",
            summary=f"Created {collection.reference} {collection.name}.",
            collection=collection,
        )
        return collection


# Submissions are filed under the reference and were checked against the kind's rules.
LOCKED_ONCE_USED = ("reference", "kind")


def collection_is_in_use(*, collection: Collection) -> bool:
    return bool(collection.pk) and collection.submissions.exists()


# Changes to these are what providers plan around: recorded as their own audit action.
DEADLINE_FIELDS = ("opens", "approval_deadline", "final_updates_deadline", "contact_period_start", "contact_period_end")


def _audit_value(value) -> str:
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "DATETIME_FORMAT")
    if isinstance(value, date):
        return date_format(value, "DATE_FORMAT")
    return "" if value is None else str(value)


def collection_update(*, collection: Collection, actor=None, **fields) -> Collection:
    """Change any of COLLECTION_FIELDS; the same rules as on create apply to the result."""
    # Compare with the stored row: a bound ModelForm has already changed the instance in memory.
    stored = Collection.objects.filter(pk=collection.pk).values(*LOCKED_ONCE_USED).first() or {}
    changed_locked = [f for f in LOCKED_ONCE_USED if f in fields and stored and fields[f] != stored[f]]
    if changed_locked and collection_is_in_use(collection=collection):
        raise ValidationError(
            {f: "This cannot change: providers have already uploaded to this collection." for f in changed_locked}
        )
    before = {f: getattr(old, f) for old in Collection.objects.filter(pk=collection.pk) for f in fields}
    with transaction.atomic():
        collection = _save(collection, fields)
        changed = {f: (_audit_value(before.get(f)), _audit_value(v)) for f, v in fields.items() if before.get(f) != v}
        if changed:
            deadlines = [f for f in changed if f in DEADLINE_FIELDS]
            audit_record(
                actor=actor,
                action="collection.deadline_changed" if deadlines else "collection.updated",
                summary=f"{collection.reference}: "
                + "; ".join(
                    f"{Collection._meta.get_field(f).verbose_name} {old or '(none)'} → {new or '(none)'}"
                    for f, (old, new) in changed.items()
                ),
                collection=collection,
                details={"changed": {f: {"from": old, "to": new} for f, (old, new) in changed.items()}},
            )
        return collection
