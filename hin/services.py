"""Year-on-year linking of a Student record submission (the pipeline's `linking` stage)."""

from django.db import connection

from collections_app import services as collection_services
from collections_app.models import Submission
from collections_app.rules.engine import run_rules
from core.errors import ActionRefused

from .models import LinkKind
from .selectors import CONFIRMABLE_REPORTS, SUGGESTING_CHECKS, hin_findings, link_counts, previous_year_submission


def hin_findings_confirm_matching(
    *,
    submission: Submission,
    report: str,
    reason: str,
    user,
    check: str | None = None,
    confirmed: bool | None = None,
    husid: str | None = None,
    field: str | None = None,
    value: str | None = None,
) -> int:
    """Confirm every unconfirmed warning of report A or D matching the filter (check, status as
    `confirmed`, HUSID prefix, field, exact change) with one reason: 2,000 postcode changes in one
    go. Returns how many."""
    if report not in CONFIRMABLE_REPORTS:
        raise ActionRefused(
            f"Only warnings of reports {' and '.join(CONFIRMABLE_REPORTS)} can be confirmed; report {report} "
            "lists errors, which must be fixed.",
            code="not_confirmable",
        )
    if confirmed:
        # A filter of confirmed warnings holds nothing to confirm; never widen it to the open ones.
        raise ActionRefused(
            "This filter shows confirmed warnings only: there is nothing to confirm. Set Status to "
            "“Not confirmed” to see the warnings still open.",
            code="nothing_matches",
        )
    described = ", ".join(
        part
        for part in (
            f"report {report}",
            f"check {check}" if check else "",
            f"HUSID starting {husid}" if husid else "",
            f"field {field}" if field else "",
            f"change {value}" if value else "",
        )
        if part
    )
    failures = hin_findings(
        submission=submission, report=report, check=check, confirmed=False, husid=husid, field=field, value=value
    )
    return collection_services.warnings_confirm_matching(
        submission=submission, failures=failures, described=described, reason=reason, user=user
    )


def links_add_suggestions(*, submission_id: int) -> None:
    """Mark the incoming records without a HIN link that the checks paired with a previous-year
    record by BIRTHDTE, POSTCODE and QUALAIM (checks 6 and 8 name it as the other record; check
    7g, reported on the previous record, names the incoming one): their link is a suggestion.
    A record that check 6 pairs with a live record may also be paired by check 8 with a closed-off
    one; check 6's pair (the best match over both) is the suggestion then.
    The workspace stored every link as by HIN or none before the checks; re-running is harmless."""
    suggesting = ", ".join(f"'{code}'" for code in SUGGESTING_CHECKS if code != "HIN7g")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE hin_link SET kind = %(suggested)s, previous_instance_id = s.previous_id
            FROM (
                SELECT current_id, MIN(previous_id) AS previous_id FROM (
                    SELECT instance_id AS current_id, other_instance_id AS previous_id, code
                    FROM sr_rule_failure WHERE submission_id = %(submission)s AND code IN ({suggesting})
                    UNION ALL
                    SELECT other_instance_id, instance_id, code
                    FROM sr_rule_failure WHERE submission_id = %(submission)s AND code = 'HIN7g'
                ) pairs
                WHERE previous_id IS NOT NULL AND current_id IS NOT NULL
                  AND NOT (code = 'HIN8' AND EXISTS (
                      SELECT 1 FROM sr_rule_failure h6 WHERE h6.submission_id = %(submission)s AND h6.code = 'HIN6'
                        AND h6.instance_id = pairs.current_id AND h6.other_instance_id IS NOT NULL))
                GROUP BY current_id
            ) s
            WHERE hin_link.submission_id = %(submission)s AND hin_link.kind = %(no_link)s
              AND hin_link.current_instance_id = s.current_id
            """,
            {"suggested": LinkKind.SUGGESTED, "no_link": LinkKind.NONE, "submission": submission_id},
        )


def submission_link(*, submission: Submission, progress=None) -> str:
    """Run the year-on-year checks and store the links; return what the submission page says."""
    previous = previous_year_submission(submission=submission)
    if previous is None:
        if progress:
            progress(1, 1)
        return "No previous-year data: year-on-year checks not run."
    run_rules(submission, stage="linking", progress=progress, previous_submission_id=previous.pk)
    links_add_suggestions(submission_id=submission.pk)
    counts = link_counts(submission=submission)
    total = sum(counts.values())
    return (
        f"Linked {counts[LinkKind.HIN]:,} of {total:,} records with {previous.collection.reference} "
        f"(submission {previous.pk}); {counts[LinkKind.SUGGESTED]:,} suggested matches, "
        f"{counts[LinkKind.NONE]:,} without a link."
    )
