"""Year-on-year linking of a Student record submission (the pipeline's `linking` stage)."""

from django.db import connection, transaction

from collections_app.models import Submission
from collections_app.rules.engine import run_rules

from .models import HinLink, LinkKind
from .selectors import SUGGESTING_CHECKS, link_counts, previous_year_submission


def links_store(*, submission_id: int, previous_submission_id: int) -> None:
    """Store every incoming record's link (HinLink) in one INSERT ... SELECT: the previous record
    with the same HUSID and NUMHUS, else the one the checks suggested by BIRTHDTE/POSTCODE/QUALAIM
    (their failures name it as the other record), else none. Runs after the linking rules;
    deleting first in the same transaction makes a re-run store each link once."""
    suggesting = ", ".join(f"'{code}'" for code in SUGGESTING_CHECKS)
    with transaction.atomic(), connection.cursor() as cursor:
        HinLink.objects.filter(submission_id=submission_id).delete()
        cursor.execute(
            f"""
            INSERT INTO hin_link (submission_id, current_instance_id, previous_instance_id, kind)
            SELECT c.submission_id, c.id, COALESCE(p.id, s.previous_id),
                   CASE WHEN p.id IS NOT NULL THEN %s WHEN s.previous_id IS NOT NULL THEN %s ELSE %s END
            FROM sr_instance c
            LEFT JOIN sr_instance p ON p.submission_id = %s AND p.husid = c.husid AND p.numhus = c.numhus
            LEFT JOIN (
                SELECT current_id, MIN(previous_id) AS previous_id FROM (
                    SELECT instance_id AS current_id, other_instance_id AS previous_id
                    FROM sr_rule_failure WHERE submission_id = %s AND code IN ({suggesting}) AND code <> 'HIN7g'
                    UNION ALL
                    SELECT other_instance_id, instance_id
                    FROM sr_rule_failure WHERE submission_id = %s AND code = 'HIN7g'
                ) pairs
                WHERE previous_id IS NOT NULL AND current_id IS NOT NULL
                GROUP BY current_id
            ) s ON s.current_id = c.id
            WHERE c.submission_id = %s
            """,
            [
                LinkKind.HIN,
                LinkKind.SUGGESTED,
                LinkKind.NONE,
                previous_submission_id,
                submission_id,
                submission_id,
                submission_id,
            ],
        )


def submission_link(*, submission: Submission, progress=None) -> str:
    """Run the year-on-year checks and store the links; return what the submission page says."""
    previous = previous_year_submission(submission=submission)
    if previous is None:
        if progress:
            progress(1, 1)
        return "No previous-year data: year-on-year checks not run."
    run_rules(submission, stage="linking", progress=progress, previous_submission_id=previous.pk)
    links_store(submission_id=submission.pk, previous_submission_id=previous.pk)
    counts = link_counts(submission=submission)
    total = sum(counts.values())
    return (
        f"Linked {counts[LinkKind.HIN]:,} of {total:,} records with {previous.collection.reference} "
        f"(submission {previous.pk}); {counts[LinkKind.SUGGESTED]:,} suggested matches, "
        f"{counts[LinkKind.NONE]:,} without a link."
    )
