"""What contacts does when the apps below it report something (connected in apps.ready())."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from collections_app.signals import submission_approved
from core.errors import ActionRefused

from .population import population_rebuild_after_approval

logger = logging.getLogger(__name__)


@receiver(submission_approved, dispatch_uid="contacts.population_rebuild")
def rebuild_populations(sender, submission, **kwargs):
    """A newly approved Student record: rebuild that provider's populations of the year."""
    try:
        population_rebuild_after_approval(submission=submission)
    except ActionRefused as refused:
        logger.warning("Population not rebuilt after approving submission %s: %s", submission.pk, refused.message)
