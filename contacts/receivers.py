"""What contacts does when the apps below it report something (connected in apps.ready())."""

from __future__ import annotations

from django.dispatch import receiver

from collections_app.signals import submission_approved

from .population import population_rebuild_after_approval


@receiver(submission_approved, dispatch_uid="contacts.population_rebuild")
def rebuild_populations(sender, submission, **kwargs):
    """A newly approved Student record: rebuild that provider's populations of the year."""
    population_rebuild_after_approval(submission=submission)
