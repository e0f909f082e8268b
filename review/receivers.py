"""What review does when the pipeline tells it something (connected in ReviewConfig.ready)."""

from django.dispatch import receiver

from collections_app.models import Submission
from collections_app.signals import submission_completed, submission_rejected

from .services import collection_updated, submission_processed_notify


@receiver(submission_completed, sender=Submission, dispatch_uid="review.collection_updated")
def reopen_sign_off(sender, *, submission, **kwargs):
    collection_updated(submission=submission)


@receiver(submission_completed, sender=Submission, dispatch_uid="review.submission_processed")
@receiver(submission_rejected, sender=Submission, dispatch_uid="review.submission_rejected")
def tell_the_uploader(sender, *, submission, **kwargs):
    submission_processed_notify(submission=submission)
