"""Credibility cells of a submission (cached, rewritten whole each time the pipeline runs), the
thresholds that flag a cell (per collection, set by liaison) and the provider's explanations."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from collections_app.models import Collection, Submission

DEFAULT_PERCENT = Decimal("10")
DEFAULT_MIN_RECORDS = 20


class CredibilityCell(models.Model):
    """One figure of one table: instances of this submission in `category`, beside the same figure
    in the provider's approved previous-year submission and its currently approved submission of
    this year (null where there is no such submission)."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    table = models.CharField(max_length=16)
    category = models.CharField(max_length=16)
    count = models.PositiveIntegerField()
    previous_count = models.PositiveIntegerField(null=True)
    approved_count = models.PositiveIntegerField(null=True)
    # Against the previous year, with the collection's threshold; rewritten when the threshold changes.
    flagged = models.BooleanField(default=False)

    class Meta:
        db_table = "credibility_cell"
        constraints = [
            models.UniqueConstraint(fields=["submission", "table", "category"], name="credibility_cell_once")
        ]
        indexes = [models.Index(fields=["submission", "flagged"], name="credibility_cell_flagged")]


class CredibilityThreshold(models.Model):
    """A collection's threshold: a cell is flagged when it moves, against last year, by more than
    `percent` and by at least `min_records` records. Without a row: the defaults."""

    collection = models.OneToOneField(Collection, on_delete=models.PROTECT, related_name="+")
    percent = models.DecimalField(max_digits=5, decimal_places=2, default=DEFAULT_PERCENT)
    min_records = models.PositiveIntegerField(default=DEFAULT_MIN_RECORDS)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)


class CredibilityExplanation(models.Model):
    """The provider's explanation of one cell of one submission (the latest text; each change audited)."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    table = models.CharField(max_length=16)
    category = models.CharField(max_length=16)
    text = models.TextField()
    explained_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    explained_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "table", "category"], name="credibility_explained_once")
        ]
