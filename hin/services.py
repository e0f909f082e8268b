"""Year-on-year linking of a Student record submission (the pipeline's `linking` stage)."""

from collections_app.models import Submission
from collections_app.rules.engine import run_rules

from .selectors import previous_year_submission


def submission_link(*, submission: Submission, progress=None) -> str:
    """Run the year-on-year checks; return what the submission page should say about them."""
    previous = previous_year_submission(submission=submission)
    if previous is None:
        if progress:
            progress(1, 1)
        return "No previous-year data: year-on-year checks not run."
    counts = run_rules(submission, stage="linking", progress=progress, previous_submission_id=previous.pk)
    if not counts:
        return (
            f"Previous-year data found ({previous.collection.reference}, submission {previous.pk}); "
            "the HIN checks are not available yet."
        )
    return f"Linked with {previous.collection.reference} (submission {previous.pk})."
