"""Year-on-year linking of a Student record submission (the pipeline's `linking` stage)."""

from django.db import connection

from collections_app.models import Instance, Submission
from collections_app.rules.engine import run_rules

from .selectors import previous_year_submission


def linked_count(*, submission_id: int, previous_submission_id: int) -> int:
    """How many of the submission's records have a HIN link (same HUSID and NUMHUS) to the other."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COUNT(*) FROM sr_instance c
            WHERE c.submission_id = %s AND EXISTS (
                SELECT 1 FROM sr_instance p
                WHERE p.submission_id = %s AND p.husid = c.husid AND p.numhus = c.numhus
            )
            """,
            [submission_id, previous_submission_id],
        )
        return cursor.fetchone()[0]


def submission_link(*, submission: Submission, progress=None) -> str:
    """Run the year-on-year checks; return what the submission page should say about them."""
    previous = previous_year_submission(submission=submission)
    if previous is None:
        if progress:
            progress(1, 1)
        return "No previous-year data: year-on-year checks not run."
    run_rules(submission, stage="linking", progress=progress, previous_submission_id=previous.pk)
    linked = linked_count(submission_id=submission.pk, previous_submission_id=previous.pk)
    total = Instance.objects.filter(submission=submission).count()
    return f"Linked {linked:,} of {total:,} records with {previous.collection.reference} (submission {previous.pk})."
