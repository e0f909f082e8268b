from django.db import models

from collections_app.models import Submission
from student_record.models import Instance


class LinkKind(models.TextChoices):
    HIN = "hin", "Linked by HIN"
    SUGGESTED = "suggested", "Suggested match (BIRTHDTE, POSTCODE, QUALAIM)"
    NONE = "none", "No link"


class HinLink(models.Model):
    """How one incoming record links to the provider's previous-year data: by HIN, by a
    suggested BIRTHDTE/POSTCODE/QUALAIM match (checks 6, 7g and 8), or not at all.

    Written set-based by hin.workspace (one INSERT ... SELECT per submission) and completed by
    hin.services.links_add_suggestions. Like the record tables it has no database-level foreign
    keys, so the bulk write needs no trigger checks.
    """

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    current_instance = models.ForeignKey(
        Instance, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    previous_instance = models.ForeignKey(
        Instance, null=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    kind = models.CharField(max_length=12, choices=LinkKind.choices)

    class Meta:
        db_table = "hin_link"
        indexes = [models.Index(fields=["submission", "kind"], name="hin_link_sub_kind")]
