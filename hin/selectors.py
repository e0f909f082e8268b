from collections_app.models import Submission, SubmissionStatus


def previous_year_submission(*, submission: Submission) -> Submission | None:
    """The provider's approved submission of the previous reporting year's collection."""
    previous_collection = submission.collection.previous
    if previous_collection is None:
        return None
    return (
        Submission.objects.filter(
            provider=submission.provider_id,
            collection=previous_collection,
            status=SubmissionStatus.APPROVED,
        )
        .order_by("-pk")
        .first()
    )
