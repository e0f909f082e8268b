from django.db.models import F, Q, QuerySet

from collections_app.models import Instance, Submission, SubmissionStatus

# A closed-off HIN need not be returned next year: it left (RSNLEAVE and DATELEFT), suspended
# (NOTACT) or went dormant (MODE 63/64). Absent optional fields are stored as '' (DATELEFT as NULL).
CLOSED_OFF = (Q(rsnleave__gt="") & Q(dateleft__isnull=False)) | Q(notact__gt="") | Q(mode__in=("63", "64"))


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


def hin_target_list(*, submission: Submission) -> QuerySet[Instance]:
    """The submission's HIN Target List: every record that is not closed off, in file order,
    with the student's names. Next year's submission must return a record for each (check 7)."""
    return (
        Instance.objects.filter(submission=submission)
        .exclude(CLOSED_OFF)
        .annotate(
            fnames=F("student__fnames"),
            surname=F("student__surname"),
            birthdte=F("student__birthdte"),
        )
        .order_by("line", "id")
    )
