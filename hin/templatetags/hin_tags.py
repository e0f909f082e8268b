"""{% hin_summary submission %}: the HIN report counts, for the submission page."""

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

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


DIFFERS_CLASS = mark_safe(' class="differs"')
COMPARED_NOTE = mark_safe(' <span class="small muted">compared</span>')
DIFFERS_NOTE = mark_safe(' <span class="visually-hidden">(differs)</span>')


@register.simple_tag
def hin_side_by_side_rows(finding) -> str:
    """The side-by-side table's rows of one finding (a row per field, differing ones marked). Built
    here rather than in a template loop: a page of 25 findings has about 400 such rows, which the
    template engine took some 15 ms to render and this takes about 1."""
    return format_html_join(
        "",
        '<tr{}><th scope="row" class="mono">{}{}</th><td class="mono">{}</td><td class="mono">{}{}</td></tr>',
        (
            (
                DIFFERS_CLASS if differs else "",
                label,
                COMPARED_NOTE if label in finding.compared else "",
                now,
                then,
                DIFFERS_NOTE if differs else "",
            )
            for label, now, then, differs in finding.rows
        ),
    )
