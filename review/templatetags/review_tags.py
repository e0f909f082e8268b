"""{% grid_row row %}: one provider's row of the liaison grid."""

from django import template
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

APPROVED_NO_LONGER_PASSES = mark_safe(
    '<br><span class="badge failed" title="A re-run of the approved submission found it failing">'
    "Approved data no longer passes</span>"
)


class _Links:
    """The grid's link targets, each reversed once per page: the ids and UKPRNs put into them are
    digits, which need no quoting, so a reversed URL with a placeholder is filled in by replacement."""

    PLACEHOLDER = 99999999  # a UKPRN's eight digits, and a submission id

    def __init__(self):
        def pattern(name):
            return reverse(name, args=[self.PLACEHOLDER])

        self.provider = pattern("liaison_provider")
        self.submission = pattern("submission_detail")
        self.credibility = pattern("credibility")
        self.queries = reverse("query_list")

    def fill(self, pattern: str, value) -> str:
        return pattern.replace(str(self.PLACEHOLDER), str(int(value)))


@register.simple_tag(takes_context=True)
def grid_row(context, row) -> SafeString:
    """The `<tr>` of one provider: its name (to the provider page), UKPRN and a cell per collection
    with links to the submission, flagged credibility figures and open queries. Built here, not in
    the template: the grid has a row per provider and a cell per open collection (1,600 cells for 200
    providers and 8 collections), which the template engine took most of the page's time to draw."""
    links = context.get("_grid_links")
    if links is None:
        links = context["_grid_links"] = _Links()
    provider = row.provider
    name = escape(provider.name)
    out = [
        format_html(
            '<tr>\n      <th scope="row"><a href="{}">{}</a></th>\n      <td class="mono">{}</td>\n',
            links.fill(links.provider, provider.ukprn),
            name,
            provider.ukprn,
        )
    ]
    for cell in row.cells:
        out.append(_cell(cell.status, provider, name, cell.collection.reference, links))
    out.append(mark_safe("    </tr>\n"))
    return _joined(out)


def _cell(s, provider, name: str, reference: str, links: _Links) -> SafeString:
    state = format_html('<span class="badge state-{}">{}</span>', s.state, s.label)
    if s.status_note:
        state += format_html(' <span class="small muted">({})</span>', s.status_note)
    if s.late and s.state != "approved_late":
        state += mark_safe(' <span class="badge late">Approved late</span>')
    if s.latest_id:
        state = format_html(
            '<a href="{}" title="{} {}: submission {}">{}</a>',
            links.fill(links.submission, s.latest_id),
            name,
            reference,
            s.latest_id,
            state,
        )
    if s.approved_no_longer_passes:
        state += APPROVED_NO_LONGER_PASSES
    if s.credibility_flags:
        state += format_html(
            '<br><a class="small badge warning" href="{}" title="Flagged credibility figures of submission {}">'
            "{} flag{}</a>",
            links.fill(links.credibility, s.current_id),
            s.current_id,
            s.credibility_flags,
            "" if s.credibility_flags == 1 else "s",
        )
    if s.open_queries:
        state += format_html(
            '<br><a class="small" href="{}?provider={}">{} open quer{}</a>',
            links.queries,
            provider.ukprn,
            s.open_queries,
            "y" if s.open_queries == 1 else "ies",
        )
    return format_html(
        '      <td class="cell" id="cell-{}-{}" data-state="{}"{}>{}</td>\n',
        provider.ukprn,
        reference,
        s.state,
        mark_safe(' data-late="yes"') if s.late else "",
        state,
    )


def _joined(parts: list[SafeString]) -> SafeString:
    """Safe pieces (each escaped by format_html, or a constant) as one safe string."""
    out = SafeString()
    for part in parts:
        out += part
    return out
