"""What review does when the pipeline tells it something (connected in ReviewConfig.ready)."""

from django.dispatch import receiver

from collections_app.models import Submission
from collections_app.signals import submission_completed, submission_rejected, submission_rerun_finished

from .services import approved_rerun_check, collection_updated, submission_processed_notify


@receiver(submission_completed, sender=Submission, dispatch_uid="review.collection_updated")
def reopen_sign_off(sender, *, submission, **kwargs):
    collection_updated(submission=submission)


@receiver(submission_completed, sender=Submission, dispatch_uid="review.submission_processed")
@receiver(submission_rejected, sender=Submission, dispatch_uid="review.submission_rejected")
def tell_the_uploader(sender, *, submission, **kwargs):
    submission_processed_notify(submission=submission)


@receiver(submission_rerun_finished, sender=Submission, dispatch_uid="review.approved_rerun_check")
def approved_still_passes(sender, *, submission, was, **kwargs):
    approved_rerun_check(submission=submission, was=was)
