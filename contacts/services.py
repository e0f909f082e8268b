"""Writes for contact details: reasons for shared details, and the web form's changes to one
graduate, which become a complete new file submitted through the upload service (so every change
goes through the same schema check, rules and approval as an upload)."""

from __future__ import annotations

import io
import re
import tempfile

from django.conf import settings
from django.core.files import File
from django.db import transaction

from accounts import permissions
from collections_app import services as collection_services
from collections_app.models import Collection, Submission
from core.audit import audit_record
from core.errors import ActionRefused

from . import selectors
from .models import DetailFamily, GradStatus, SharedDetailReason
from .xmlwrite import DETAIL_ELEMENTS, GraduateDetails, write_contact_details

# As the XSD (contacts/xsd/contact_details_v1.xsd) has them.
MAX_PER_ELEMENT = 3
MAX_LENGTH = {"EMAIL": 254, "UKMOB": 30, "UKTEL": 30, "INTTEL": 30}
HUSID = re.compile(r"\d{13}")
NUMHUS = re.compile(r"[^\s]{1,20}")
ELEMENT_LABELS = {"EMAIL": "Email", "UKMOB": "UK mobile", "UKTEL": "UK landline", "INTTEL": "Non-UK telephone"}

STAFF_ONLY = "Only the provider's own staff can change its contact details: liaison review them but do not supply them."


def _check_staff(user, provider, message: str = STAFF_ONLY) -> None:
    if not permissions.is_staff_of(user, provider):
        raise ActionRefused(message, code="forbidden")


def _check_open(collection: Collection, what: str) -> None:
    if collection.phase() == "closed":
        raise ActionRefused(
            f"{collection.reference} is closed: {what} can no longer be changed. Contact Liaison if you need to "
            "change approved data.",
            code="collection_closed",
        )


# -- reasons for shared details ------------------------------------------------------------------


def _shared_in_current(*, provider, collection: Collection, family: str, normalised: str) -> Submission:
    if family not in DetailFamily.values:
        raise ActionRefused("Say whether the shared detail is an email or a phone number.", code="invalid_family")
    current = selectors.current_contact_submission(provider=provider, collection=collection)
    if current is None or not selectors.is_shared(submission=current, family=family, normalised=normalised):
        raise ActionRefused(
            f"{normalised} is not given for two or more graduates in the current submission: a reason is only "
            "recorded for a detail that is shared.",
            code="not_shared",
        )
    return current


def shared_reason_record(
    *, provider, collection: Collection, family: str, normalised: str, reason: str, note: str, user
) -> SharedDetailReason:
    """Record (or change) why one email or phone is rightly given for several graduates. Keyed on
    provider, collection, family and normalised value, so it carries to later uploads; it clears
    GO.EMAIL.10 / GO.PHONE.06 for the detail when the rules next run (a re-check or an upload)."""
    _check_staff(user, provider, "Only the provider's own staff can give a reason for a shared detail.")
    _check_open(collection, "reasons for shared details")
    normalised = (normalised or "").strip()
    note = (note or "").strip()
    if reason not in SharedDetailReason.Reason.values:
        raise ActionRefused("Choose a reason from the list.", code="invalid_reason")
    if reason == SharedDetailReason.Reason.OTHER and not note:
        raise ActionRefused('Explain the reason: a note is required for "Other".', code="note_required")
    current = _shared_in_current(provider=provider, collection=collection, family=family, normalised=normalised)
    already = SharedDetailReason.objects.filter(
        provider=provider, collection=collection, family=family, normalised=normalised
    ).values_list("reason", flat=True)
    # A reason that does not fit the kind of detail is refused, unless it is the one already recorded.
    if reason not in dict(SharedDetailReason.choices_for(family, recorded=already.first() or "")):
        label, kind = SharedDetailReason.Reason(reason).label, DetailFamily(family).label.lower()
        raise ActionRefused(
            f'"{label}" is not a reason for a shared {kind}: choose one from the list.', code="invalid_reason"
        )
    with transaction.atomic():
        recorded, created = SharedDetailReason.objects.update_or_create(
            provider=provider,
            collection=collection,
            family=family,
            normalised=normalised,
            defaults={"reason": reason, "note": note, "recorded_by": user},
        )
        label = SharedDetailReason.Reason(reason).label
        audit_record(
            actor=user,
            action="shared_detail.reason_recorded" if created else "shared_detail.reason_changed",
            summary=f"{'Recorded' if created else 'Changed'} the reason for the shared {family} {normalised} in "
            f"{collection.reference}: {label}{f' ({note})' if note else ''}.",
            provider=provider,
            collection=collection,
            submission=current,
            details={"family": family, "normalised": normalised, "reason": reason, "note": note},
        )
    return recorded


def shared_reason_remove(*, provider, collection: Collection, family: str, normalised: str, user) -> None:
    """Remove a shared detail's reason: GO.EMAIL.10 / GO.PHONE.06 fail for it again at the next run."""
    _check_staff(user, provider, "Only the provider's own staff can remove a reason for a shared detail.")
    _check_open(collection, "reasons for shared details")
    normalised = (normalised or "").strip()
    current = _shared_in_current(provider=provider, collection=collection, family=family, normalised=normalised)
    with transaction.atomic():
        deleted, _ = SharedDetailReason.objects.filter(
            provider=provider, collection=collection, family=family, normalised=normalised
        ).delete()
        if not deleted:
            raise ActionRefused(f"No reason is recorded for {normalised}.", code="no_reason")
        audit_record(
            actor=user,
            action="shared_detail.reason_removed",
            summary=f"Removed the reason for the shared {family} {normalised} in {collection.reference}.",
            provider=provider,
            collection=collection,
            submission=current,
            details={"family": family, "normalised": normalised},
        )


# -- the web form: one graduate changed, the rest as stored ----------------------------------------


def graduate_errors(*, husid: str, numhus: str, gradstatus: str, details: dict[str, list[str]]) -> dict[str, list[str]]:
    """What the XSD would refuse in one graduate: field -> sentences (empty when it would pass).
    Fields: husid, numhus, gradstatus and the element names."""
    errors: dict[str, list[str]] = {}
    if not HUSID.fullmatch(husid or ""):
        errors["husid"] = ["HUSID is 13 digits."]
    if not NUMHUS.fullmatch(numhus or ""):
        errors["numhus"] = ["NUMHUS is 1 to 20 characters with no spaces."]
    if gradstatus and gradstatus not in GradStatus.values:
        errors["gradstatus"] = ["GRADSTATUS is 01 (deceased), 02 (not contactable) or 03 (serious illness), or empty."]
    for element, values in details.items():
        if element not in DETAIL_ELEMENTS:
            errors[element] = [f"{element} is not a contact element: use {', '.join(DETAIL_ELEMENTS)}."]
            continue
        found = []
        if len(values) > MAX_PER_ELEMENT:
            found.append(f"At most {MAX_PER_ELEMENT} {ELEMENT_LABELS[element]} values.")
        for value in values:
            if not value or value != value.strip():
                found.append(f"{ELEMENT_LABELS[element]} values cannot be empty or start or end with a space.")
            elif len(value) > MAX_LENGTH[element]:
                found.append(f"{ELEMENT_LABELS[element]} is at most {MAX_LENGTH[element]} characters: {value[:40]}…")
        if found:
            errors[element] = found
    return errors


def _check_can_change(*, provider, collection: Collection, user) -> Submission:
    _check_staff(user, provider)
    collection_services.collection_check_open(collection=collection)
    collection_services.check_none_in_flight(provider=provider, collection=collection)
    current = selectors.current_contact_submission(provider=provider, collection=collection)
    if current is None:
        raise ActionRefused(
            f"There is no checked contact details file for {collection.reference} yet: upload one first. The web "
            "form changes the graduates of the current submission.",
            code="no_submission",
        )
    return current


def graduate_change_refusal(*, provider, collection: Collection, user) -> ActionRefused | None:
    """Why the web form cannot change the graduates now (None: it can), for the screens to say so
    instead of offering a form that saving would refuse: the same checks as a save makes."""
    try:
        _check_can_change(provider=provider, collection=collection, user=user)
    except ActionRefused as refused:
        return refused
    return None


def _submit(
    *, provider, collection: Collection, user, current: Submission, graduates, original_name: str, audit
) -> Submission:
    """Write the file (to a temporary file, never whole in memory, and before any transaction
    opens: a large file takes a while), then submit it like an upload and audit the change with it."""
    with tempfile.NamedTemporaryFile(suffix=".xml", dir=settings.FILE_UPLOAD_TEMP_DIR) as spool:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="\n", write_through=False)
        write_contact_details(text, recid=collection.recid, ukprn=provider.ukprn, graduates=graduates)
        text.flush()
        text.detach()  # the temporary file stays open for the upload service
        spool.flush()
        spool.seek(0)
        with transaction.atomic():
            # Checked again now the file is written: it is built on `current`, which must still be current.
            collection_services.check_none_in_flight(provider=provider, collection=collection)
            if selectors.current_contact_submission(provider=provider, collection=collection) != current:
                raise ActionRefused(
                    "Another upload was checked while this change was being made: open the graduate again and "
                    "repeat the change.",
                    code="not_current",
                )
            submission = collection_services.submission_create(
                collection=collection, provider=provider, user=user, uploaded_file=File(spool, name=original_name)
            )
            audit(submission)
    return submission


def _changed(current: Submission, husid: str, numhus: str, replacement: GraduateDetails | None):
    """The current submission's graduates as stored, with (husid, numhus) replaced by `replacement`
    (None: left out); a graduate not in the file is added at the end."""
    found = False
    for graduate in selectors.graduates_as_stored(submission=current):
        if (graduate.husid, graduate.numhus) == (husid, numhus):
            if not found and replacement is not None:
                yield replacement
            found = True
            continue
        yield graduate
    if not found and replacement is not None:
        yield replacement


def graduate_save(
    *, provider, collection: Collection, husid: str, numhus: str, gradstatus: str, details: dict[str, list[str]], user
) -> Submission:
    """Change (or add) one graduate: a complete new file, the current submission's graduates as
    stored with this one change, submitted through the upload service. It is checked like any
    upload and must be approved again."""
    current = _check_can_change(provider=provider, collection=collection, user=user)
    husid, numhus, gradstatus = (husid or "").strip(), (numhus or "").strip(), (gradstatus or "").strip()
    details = {element: [v.strip() for v in values if v and v.strip()] for element, values in details.items()}
    errors = graduate_errors(husid=husid, numhus=numhus, gradstatus=gradstatus, details=details)
    if errors:
        raise ActionRefused(" ".join(" ".join(found) for found in errors.values()), code="invalid")
    existed = selectors.graduate_get(submission=current, husid=husid, numhus=numhus) is not None
    replacement = GraduateDetails(
        husid=husid,
        numhus=numhus,
        gradstatus=gradstatus,
        details={element: details.get(element, []) for element in DETAIL_ELEMENTS},
    )

    def audit(submission):
        audit_record(
            actor=user,
            action="graduate.changed" if existed else "graduate.added",
            summary=f"{'Changed' if existed else 'Added'} graduate {husid} / {numhus} with the web form: submitted "
            f"as submission {submission.pk}, from submission {current.pk}.",
            submission=submission,
            details={
                "husid": husid,
                "numhus": numhus,
                "from_submission": current.pk,
                "gradstatus": gradstatus,
                "counts": {element: len(details.get(element, [])) for element in DETAIL_ELEMENTS},
            },
        )

    return _submit(
        provider=provider,
        collection=collection,
        user=user,
        current=current,
        graduates=_changed(current, husid, numhus, replacement),
        original_name=f"web-form-{husid}-{numhus}.xml",
        audit=audit,
    )


def graduate_delete(*, provider, collection: Collection, husid: str, numhus: str, user) -> Submission:
    """Leave one graduate out: a complete new file without them, submitted like an upload."""
    current = _check_can_change(provider=provider, collection=collection, user=user)
    if selectors.graduate_get(submission=current, husid=husid, numhus=numhus) is None:
        raise ActionRefused(
            f"Graduate {husid} / {numhus} is not in the current submission {current.pk}.", code="not_found"
        )

    def audit(submission):
        audit_record(
            actor=user,
            action="graduate.deleted",
            summary=f"Deleted graduate {husid} / {numhus} with the web form: submitted as submission "
            f"{submission.pk}, from submission {current.pk}.",
            submission=submission,
            details={"husid": husid, "numhus": numhus, "from_submission": current.pk},
        )

    return _submit(
        provider=provider,
        collection=collection,
        user=user,
        current=current,
        graduates=_changed(current, husid, numhus, None),
        original_name=f"web-form-{husid}-{numhus}-deleted.xml",
        audit=audit,
    )
