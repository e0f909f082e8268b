"""{% grid_row row %}: one provider's row of the liaison grid."""

from html import escape

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString

register = template.Library()

APPROVED_NO_LONGER_PASSES = (
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
    with links to the submission, flagged credibility figures and open queries. Built here, each
    value escaped with the standard library's html.escape, not in the template: the grid has a row
    per provider and a cell per open collection (1,600 cells for 200 providers and 8 collections),
    which the template engine took most of the page's time to draw."""
    links = context.get("_grid_links")
    if links is None:
        links = context["_grid_links"] = _Links()
    provider = row.provider
    name, ukprn = escape(provider.name), escape(provider.ukprn)
    out = [
        f'<tr>\n      <th scope="row"><a href="{links.fill(links.provider, provider.ukprn)}">{name}</a></th>\n'
        f'      <td class="mono">{ukprn}</td>\n'
    ]
    for cell in row.cells:
        out.append(_cell(cell.status, ukprn, name, escape(cell.collection.reference), links))
    out.append("    </tr>\n")
    return SafeString("".join(out))  # every value escaped above


def _cell(s, ukprn: str, name: str, reference: str, links: _Links) -> str:
    """One cell's HTML; `ukprn`, `name` and `reference` come escaped."""
    state = f'<span class="badge state-{escape(s.state)}">{escape(str(s.label))}</span>'
    if s.status_note:
        state += f' <span class="small muted">({escape(str(s.status_note))})</span>'
    if s.late and s.state != "approved_late":
        state += ' <span class="badge late">Approved late</span>'
    if s.latest_id:
        url = links.fill(links.submission, s.latest_id)
        state = f'<a href="{url}" title="{name} {reference}: submission {int(s.latest_id)}">{state}</a>'
    if s.approved_no_longer_passes:
        state += APPROVED_NO_LONGER_PASSES
    if s.credibility_flags:
        flags = int(s.credibility_flags)
        state += (
            f'<br><a class="small badge warning" href="{links.fill(links.credibility, s.current_id)}" '
            f'title="Flagged credibility figures of submission {int(s.current_id)}">'
            f"{flags} flag{'' if flags == 1 else 's'}</a>"
        )
    if s.open_queries:
        queries = int(s.open_queries)
        state += (
            f'<br><a class="small" href="{links.queries}?provider={ukprn}">'
            f"{queries} open quer{'y' if queries == 1 else 'ies'}</a>"
        )
    late = ' data-late="yes"' if s.late else ""
    return f'      <td class="cell" id="cell-{ukprn}-{reference}" data-state="{escape(s.state)}"{late}>{state}</td>\n'
