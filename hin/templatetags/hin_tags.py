"""{% hin_summary submission %}: the HIN report counts, for the submission page."""

from html import escape

from django import template
from django.utils.safestring import SafeString

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


DIFFERS_CLASS = ' class="differs"'
COMPARED_NOTE = ' <span class="small muted">compared</span>'
DIFFERS_NOTE = ' <span class="visually-hidden">(differs)</span>'


@register.simple_tag
def hin_side_by_side_rows(finding) -> SafeString:
    """The side-by-side table's rows of one finding (a row per field, differing ones marked). Built
    here, each value escaped with the standard library's html.escape, rather than in a template
    loop: a page of 25 findings has about 400 such rows, which took the template engine (or
    format_html, argument by argument) most of the page's time."""
    rows = []
    for label, now, then, differs in finding.rows:
        mark, note = (DIFFERS_CLASS, DIFFERS_NOTE) if differs else ("", "")
        compared = COMPARED_NOTE if label in finding.compared else ""
        rows.append(
            f'<tr{mark}><th scope="row" class="mono">{escape(label)}{compared}</th>'
            f'<td class="mono">{escape(now)}</td><td class="mono">{escape(then)}{note}</td></tr>'
        )
    return SafeString("".join(rows))  # every value escaped above
