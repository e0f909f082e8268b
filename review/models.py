"""Review and approval records. The states and transitions are described in review/services.py."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Provider
from collections_app.models import Collection, Submission


class Approval(models.Model):
    """A provider approver's approval of one submission: who, when, and the exact file (SHA-256).

    At most one approval per provider and collection is current (superseded_at is null); its
    submission is the provider's one `approved` submission. Older approvals are kept as history.
    """

    submission = models.OneToOneField(Submission, on_delete=models.PROTECT, related_name="approval")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(default=timezone.now)
    sha256 = models.CharField(max_length=64)
    # After the approval deadline (allowed until the final-updates deadline, but shown as late).
    late = models.BooleanField(default=False)
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-approved_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "collection"], condition=Q(superseded_at__isnull=True), name="one_current_approval"
            )
        ]

    def __str__(self):
        return f"Approval of submission {self.submission_id}"


class OverrideStatus(models.TextChoices):
    PENDING = "pending", "Waiting for liaison"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"


class OverrideRequest(models.Model):
    """A provider's request to approve despite a warning above its tolerance.

    An approved override covers the rule for every upload of the collection whose share of
    records failing it (outstanding, i.e. not confirmed) stays at or below `percent`.
    """

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=32)
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Percentage of records affected that the provider asks to be accepted.",
    )
    justification = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=OverrideStatus.choices, default=OverrideStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "collection", "code"],
                condition=Q(status="pending"),
                name="one_pending_override_per_rule",
            )
        ]

    def __str__(self):
        return f"Override of {self.code} for submission {self.submission_id} ({self.status})"


class QueryStatus(models.TextChoices):
    OPEN = "open", "Waiting for the provider"
    ANSWERED = "answered", "Waiting for liaison"
    CLOSED = "closed", "Closed"


class QueryKind(models.TextChoices):
    QUERY = "query", "Query"
    RETURN = "return", "Returned instead of signed off"


class Query(models.Model):
    """A liaison question about a provider's submission, optionally pinned to a rule or a record.

    Queries belong to the provider's collection: one raised on an earlier upload still counts
    (and still blocks approval, if so marked) after the provider uploads again.
    """

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=QueryKind.choices, default=QueryKind.QUERY)
    subject = models.CharField(max_length=200)
    rule_code = models.CharField(max_length=32, blank=True)
    husid = models.CharField("HUSID", max_length=13, blank=True)
    numhus = models.CharField("NUMHUS", max_length=20, blank=True)
    blocks_approval = models.BooleanField(
        default=False, help_text="Must be answered before approval: approval waits for a provider response."
    )
    status = models.CharField(max_length=16, choices=QueryStatus.choices, default=QueryStatus.OPEN)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name_plural = "queries"
        indexes = [models.Index(fields=["provider", "collection", "status"])]

    def __str__(self):
        return f"Query {self.pk}: {self.subject}"


class QueryMessageKind(models.TextChoices):
    RAISED = "raised", "Raised"
    RESPONSE = "response", "Provider response"
    ACCEPTED = "accepted", "Accepted"
    REOPENED = "reopened", "Reopened"


class QueryMessage(models.Model):
    """Every message of a query, kept in order: the raising text, responses, acceptance, reopenings."""

    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=16, choices=QueryMessageKind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class SignOff(models.Model):
    """Liaison's sign-off of a provider's approved collection: the last state. A later completed
    upload (or a return with a query) reopens it; the row is kept with reopened_at set."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="+")
    approval = models.ForeignKey(Approval, on_delete=models.PROTECT, related_name="sign_offs")
    signed_off_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_off_at = models.DateTimeField(default=timezone.now)
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopened_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-signed_off_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "collection"], condition=Q(reopened_at__isnull=True), name="one_current_sign_off"
            )
        ]


class ReminderSent(models.Model):
    """One reminder or notification email that went out. `key` names it (kind, collection, provider
    or day; for a notification the event, e.g. the query message) and is claimed before sending,
    so a re-run of the beat task (or a second signal for one event) never sends it twice."""

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=32)
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    collection = models.ForeignKey(Collection, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recipients = models.JSONField(default=list)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-id"]


class RuleTolerance(models.Model):
    """Liaison's tolerance for one warning rule in one collection, replacing the rule's code default
    (collections_app.rules.Tolerance). Exactly one of `percent` (of the rule's records) and `count`;
    zero means any outstanding warning blocks approval. Changes are audited (review.services)."""

    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=32)
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Outstanding warnings allowed, as a percentage of the rule's records.",
    )
    count = models.PositiveIntegerField(null=True, blank=True, help_text="Outstanding warnings allowed, as a count.")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["collection", "code"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "code"], name="one_tolerance_per_rule"),
            models.CheckConstraint(
                condition=Q(percent__isnull=True, count__isnull=False) | Q(percent__isnull=False, count__isnull=True),
                name="tolerance_percent_or_count",
            ),
        ]

    def __str__(self):
        return f"Tolerance of {self.code} in collection {self.collection_id}"


class NotificationPreference(models.Model):
    """A user's choice for one kind of notification email (review.notifications.KINDS). No row
    means the default: on."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind")]

    def __str__(self):
        return f"{self.kind}: {'on' if self.enabled else 'off'}"
