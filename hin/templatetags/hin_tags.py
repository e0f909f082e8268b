"""{% hin_summary submission %}: the HIN report counts, for the submission page."""

from django import template

from hin import selectors

register = template.Library()


@register.inclusion_tag("hin/_summary.html")
def hin_summary(submission, warning_counts=None, summaries=None):
    """`warning_counts` and `summaries` (rule_summaries): the page's, when it has read them already."""
    if summaries is None:
        ran = selectors.linking_ran(submission=submission)
    else:
        ran = any(s.code in selectors.REPORT_OF_CODE for s in summaries)
    return {
        "submission": submission,
        "ran": ran,
        "counts": selectors.hin_report_counts(submission=submission, warning_counts=warning_counts, summaries=summaries)
        if ran
        else [],
    }


@register.simple_tag
def hin_confirm_query(code: str) -> str:
    """The HIN reports page's query string for a warning the provider can confirm there
    ("report=A&check=5b"), or "" for a rule that is not a confirmable HIN check."""
    report = selectors.REPORT_OF_CODE.get(code)
    if report is None or report.letter not in selectors.CONFIRMABLE_REPORTS:
        return ""
    return f"report={report.letter}&check={selectors.check_label(code)}&status=open"
