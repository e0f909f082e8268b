from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditRefused(Exception):
    """Audit events are never changed or deleted once written."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditRefused("Audit events cannot be changed.")

    def delete(self):
        raise AuditRefused("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One thing that happened, reported through core.audit.audit_record and never changed.

    The actor is null for system events (the pipeline's verdict). Provider, collection and
    submission are kept so the log can be scoped and filtered; `actor_name` keeps who it was
    readable even if the user is later renamed.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    summary = models.TextField()
    # PROTECT: a provider, collection or submission with history keeps it.
    provider = models.ForeignKey("accounts.Provider", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    collection = models.ForeignKey(
        "collections_app.Collection", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submission = models.ForeignKey(
        "collections_app.Submission", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        # The log's default order, newest first, for everyone and per provider; a keyset page seeks on (at, id).
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_at_id"),
            models.Index(fields=["provider", "-at", "-id"], name="audit_provider_at_id"),
            models.Index(fields=["provider", "action"], name="audit_provider_action"),  # audit_actions
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}: {self.summary}"

    def save(self, *args, **kwargs):
        if self.pk is not None or kwargs.get("force_update"):
            raise AuditRefused("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditRefused("Audit events cannot be deleted.")
