"""{% hin_summary submission %}: the HIN report counts, for the submission page."""

from html import escape

from django import template
from django.utils import formats, timezone
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


@register.simple_tag(takes_context=True)
def hin_finding(context, finding) -> SafeString:
    """One finding's `<tbody>`: check, HIN, the fix with both records side by side in a `<details>`,
    lines and status, and a checkbox when it can be confirmed here. Built here rather than in the
    template, for the reason hin_side_by_side_rows gives; the context gives `to_confirm`,
    `submission`, `collection` and `previous` as the page has them."""
    f, failure, confirmation = finding, finding.failure, finding.confirmation
    pk, husid = int(failure.pk), escape(failure.husid)
    severity = escape(failure.severity)
    pick = ""
    if context.get("to_confirm"):
        box = ""
        if f.confirmable and not confirmation:
            box = (
                f'<input type="checkbox" name="failure" value="{pk}" id="pick-{pk}" '
                f'aria-label="Select finding {pk} (HUSID {husid}) to confirm">'
            )
        pick = f"<td>{box}</td>"
    category = f" · cat. {int(f.category)}" if f.category else ""
    confirmed = ""
    if confirmation:
        when = formats.date_format(timezone.localtime(confirmation.confirmed_at), "DATETIME_FORMAT")
        elsewhere = (
            f" (on submission {int(confirmation.submission_id)})"
            if confirmation.submission_id != context["submission"].pk
            else ""
        )
        confirmed = (
            f'<p class="confirmation small">Confirmed as a data quality improvement by '
            f"{escape(confirmation.confirmed_by.display_name)} on {escape(when)}{elsewhere}: "
            f"“{escape(confirmation.reason)}”</p>"
        )
    previous = context.get("previous")
    last_year = f" ({escape(previous.collection.reference)})" if previous else ""
    lines = f"{f.current.line:,}" if f.current else "—"
    if f.previous:
        lines += f'<br><span class="muted">was {f.previous.line:,}</span>'
    if confirmation:
        status = '<span class="badge ok">Confirmed</span>'
    elif f.confirmable:
        status = '<span class="small muted">Not confirmed</span>'
    else:
        status = '<span class="small muted">To fix</span>'
    return SafeString(  # every value escaped (or a number) above
        f'<tbody class="finding {severity}{" confirmed" if confirmation else ""}" id="finding-{pk}">\n'
        f"        <tr>\n          {pick}\n"
        f'          <td><span class="badge {severity}">{escape(f.check)}{category}</span></td>\n'
        f'          <td class="mono small">{husid} · {escape(failure.numhus)}</td>\n'
        f"          <td>\n            <details>\n"
        f'              <summary><span class="fix">{escape(failure.message)}</span></summary>\n'
        f"              {confirmed}\n"
        f'              <table class="side-by-side">\n'
        f'                <thead><tr><th scope="col">Field</th><th scope="col">This year '
        f'({escape(context["collection"].reference)})</th><th scope="col">Last year{last_year}</th></tr></thead>\n'
        f"                <tbody>\n                  {hin_side_by_side_rows(f)}\n"
        f'                  <tr><th scope="row">Status</th><td>{f.current.status if f.current else "no record"}</td>'
        f"<td>{f.previous.status if f.previous else 'no record'}</td></tr>\n"
        f"                </tbody>\n              </table>\n            </details>\n          </td>\n"
        f'          <td class="num small">{lines}</td>\n'
        f"          <td>{status}</td>\n        </tr>\n      </tbody>"
    )
