"""Notification emails for review events (the deadline reminders and liaison digest are in services).

Each kind is a user preference, on unless the user turned it off (NotificationPreference). A
notification is sent once the transaction of its event has committed (a rolled-back action tells
nobody), claimed as a ReminderSent row keyed on the event (never sent twice), and recorded in the
audit log as "notification.sent" (kind and number of recipients; never the text). A failed send
is logged and changes nothing else: the action that caused it stands.

Who gets what:
    submission_processed   the uploader, when the pipeline's verdict is in (passed, failed or rejected)
    query_raised           the provider's staff (users and approvers), when Liaison raises a query
                           or returns a collection (only Liaison raise queries)
    query_reopened         the provider's staff, when Liaison reopen a query: it waits for them again
    query_answered         the liaison who raised the query, on each provider response
    override_requested     every liaison (any of them may decide), when provider staff request an override
    override_decided       the provider staff member who requested the override
    submission_approved    every liaison (they sign off next) and the provider's other approvers
    signed_off             the provider's approvers
    sign_off_reopened      the provider's approvers and the liaison who signed off, when a new upload
                           completes after the sign-off
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from accounts.models import Role, User
from core.audit import audit_record

from .models import NotificationPreference, ReminderSent

logger = logging.getLogger(__name__)

PROVIDER_STAFF = (Role.PROVIDER_USER, Role.PROVIDER_APPROVER)


@dataclass(frozen=True)
class Kind:
    code: str
    label: str  # completes "Email me when…"
    roles: tuple[str, ...]


KINDS = {
    kind.code: kind
    for kind in (
        Kind(
            "submission_processed", "a file I uploaded has been processed (passed, failed or rejected)", PROVIDER_STAFF
        ),
        Kind("query_raised", "Liaison raise a query on our data or return a collection", PROVIDER_STAFF),
        Kind("query_reopened", "Liaison reopen a query: it waits for our response again", PROVIDER_STAFF),
        Kind("query_answered", "a provider responds to a query I raised", (Role.LIAISON,)),
        Kind("override_requested", "a provider requests an override of a warning tolerance", (Role.LIAISON,)),
        Kind("override_decided", "Liaison decide on an override I requested", PROVIDER_STAFF),
        Kind(
            "submission_approved",
            "a collection is approved (for approvers: by another approver of ours)",
            (Role.PROVIDER_APPROVER, Role.LIAISON),
        ),
        Kind("signed_off", "Liaison sign off our approved collection", (Role.PROVIDER_APPROVER,)),
        Kind(
            "sign_off_reopened",
            "a new upload reopens a signed-off collection",
            (Role.PROVIDER_APPROVER, Role.LIAISON),
        ),
    )
}


def kinds_for(user) -> list[Kind]:
    """The kinds that can reach this user's role (the account page offers only these)."""
    return [kind for kind in KINDS.values() if user.role in kind.roles]


def disabled_kinds(user) -> set[str]:
    return set(NotificationPreference.objects.filter(user=user, enabled=False).values_list("kind", flat=True))


def absolute_url(path: str) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def _recipients(kind: str, users) -> list[str]:
    """Active users of a role the kind applies to, with an email, who have not turned the kind off."""
    ids = {user.pk for user in users if user is not None}
    off = set(
        NotificationPreference.objects.filter(kind=kind, enabled=False, user__in=ids).values_list("user", flat=True)
    )
    return sorted(
        set(
            User.objects.filter(pk__in=ids - off, is_active=True, role__in=KINDS[kind].roles)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )


def provider_staff(provider_id, *, roles=PROVIDER_STAFF) -> list:
    return list(User.objects.filter(provider=provider_id, role__in=roles, is_active=True))


def liaison_staff() -> list:
    return list(User.objects.filter(role=Role.LIAISON, is_active=True))


def notify(*, kind: str, key: str, users, context: dict, path: str, provider=None, collection=None, submission=None):
    """Send `kind` to those of `users` who want it, once the current transaction commits.

    The text comes from review/email/notify/<kind>.txt (first line: the subject); the HTML part
    is the same text in review/email/notification.html, with a link to `path`."""
    users = list(users)

    def send():
        _send(
            kind=kind,
            key=f"notify:{key}",
            users=users,
            context={**context, "url": absolute_url(path)},
            provider=provider,
            collection=collection,
            submission=submission,
        )

    # robust: whatever happens in the sending, the action that caused it has committed and stands.
    transaction.on_commit(send, robust=True)


def _send(*, kind, key, users, context, provider, collection, submission) -> bool:
    try:
        recipients = _recipients(kind, users)
        if not recipients:
            return False
        subject, _, body = render_to_string(f"review/email/notify/{kind}.txt", context).strip().partition("\n")
        subject, body = subject.strip(), body.strip() + "\n"
        html = render_to_string("review/email/notification.html", {**context, "subject": subject, "body": body})
        with transaction.atomic():
            # Claimed first: a second signal for the same event finds the row and sends nothing;
            # a failed send rolls the claim back with it.
            ReminderSent.objects.create(
                key=key[:120], kind=kind, provider=provider, collection=collection, recipients=recipients
            )
            # One message per recipient: recipients never see each other's addresses.
            messages = [EmailMultiAlternatives(subject, body, None, [to]) for to in recipients]
            for message in messages:
                message.attach_alternative(html, "text/html")
            messages[0].get_connection().send_messages(messages)
            audit_record(
                actor=None,
                action="notification.sent",
                summary=f"Notification sent ({kind}) to {len(recipients)} recipient(s)",
                provider=provider,
                collection=collection,
                submission=submission,
                details={"kind": kind, "key": key, "recipients": len(recipients)},
            )
    except IntegrityError:
        return False
    except Exception:
        logger.exception("notification %s could not be sent", key)
        return False
    return True
