"""{% hin_summary submission %}: the HIN report counts, for the submission page."""

from django import template

from hin import selectors

register = template.Library()


@register.inclusion_tag("hin/_summary.html")
def hin_summary(submission):
    ran = selectors.linking_ran(submission=submission)
    return {
        "submission": submission,
        "ran": ran,
        "counts": selectors.hin_report_counts(submission=submission) if ran else [],
    }
