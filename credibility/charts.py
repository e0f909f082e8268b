"""Charts as inline SVG rendered on the server: no script (the CSP allows none inline) and they
print. Colours come from classes in credibility/credibility.css."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core.formatting import uk_datetime_text

HEIGHT = 160
TOP, BOTTOM, LEFT = 12, 40, 40
GROUP, BAR = 56, 20


def _label(text: str, limit: int = 12) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def grouped_bars(table, *, this_label: str = "This year", last_label: str = "Last year") -> SafeString:
    """Each category's figure this year beside last year's; a flagged category's bars are marked."""
    cells = table.cells
    top_value = max([c.count for c in cells] + [c.previous_count or 0 for c in cells] + [1])
    width = max(LEFT + GROUP * max(len(cells), 1) + 10, 280)  # room for the legend
    plot = HEIGHT - TOP - BOTTOM
    # Labels under the bars when they are all short (UK, EU, ...), else the codes (PG, FT, 21, ...).
    use_labels = all(len(c.label) <= 12 for c in cells)

    def bar(x: int, value: int | None, css: str, title: str) -> SafeString:
        if value is None:
            return SafeString("")
        h = round(plot * value / top_value)
        return format_html(
            '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
            css,
            x,
            TOP + plot - h,
            BAR,
            max(h, 0),
            title,
        )

    parts = []
    for k, cell in enumerate(cells):
        x = LEFT + GROUP * k + 6
        flagged = " flagged" if cell.flagged else ""
        parts.append(bar(x, cell.count, "bar-current" + flagged, f"{cell.label}: {cell.count:,} {this_label.lower()}"))
        if cell.previous_count is not None:
            parts.append(
                bar(
                    x + BAR,
                    cell.previous_count,
                    "bar-previous",
                    f"{cell.label}: {cell.previous_count:,} {last_label.lower()}",
                )
            )
        parts.append(
            format_html(
                '<text class="axis-label{}" x="{}" y="{}" text-anchor="middle">{}</text>',
                flagged,
                x + BAR,
                HEIGHT - BOTTOM + 14,
                _label(cell.label if use_labels else cell.category),
            )
        )
    axis = format_html(
        '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<text class="axis-label" x="{}" y="{}" text-anchor="end">{}</text>'
        '<text class="axis-label" x="{}" y="{}" text-anchor="end">0</text>',
        LEFT,
        TOP + plot,
        width,
        TOP + plot,
        LEFT - 4,
        TOP + 8,
        f"{top_value:,}",
        LEFT - 4,
        TOP + plot,
    )
    legend = format_html(
        '<rect class="bar-current" x="{}" y="{}" width="10" height="10"/>'
        '<text class="axis-label" x="{}" y="{}">{}</text>'
        '<rect class="bar-previous" x="{}" y="{}" width="10" height="10"/>'
        '<text class="axis-label" x="{}" y="{}">{}</text>',
        LEFT,
        HEIGHT - 14,
        LEFT + 14,
        HEIGHT - 5,
        this_label,
        LEFT + 110,
        HEIGHT - 14,
        LEFT + 124,
        HEIGHT - 5,
        last_label,
    )
    return format_html(
        '<svg class="credibility-chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}">'
        "{}{}{}</svg>",
        width,
        HEIGHT,
        width,
        HEIGHT,
        f"{table.title}: {this_label.lower()} beside {last_label.lower()}",
        axis,
        format_html_join("", "{}", ((part,) for part in parts)),
        legend,
    )


def trend(uploads) -> SafeString:
    """Errors and warnings of every upload of the collection, oldest first."""
    if not uploads:
        return SafeString("")
    width = LEFT + 60 * max(len(uploads) - 1, 1) + 30
    plot = HEIGHT - TOP - BOTTOM
    top_value = max([u.error_count for u in uploads] + [u.warning_count for u in uploads] + [1])

    def point(k: int, value: int) -> tuple[int, int]:
        return LEFT + 10 + 60 * k, TOP + plot - round(plot * value / top_value)

    lines = []
    for css, attr, label in (("line-errors", "error_count", "errors"), ("line-warnings", "warning_count", "warnings")):
        points = [point(k, getattr(u, attr)) for k, u in enumerate(uploads)]
        lines.append(format_html('<polyline class="{}" points="{}"/>', css, " ".join(f"{x},{y}" for x, y in points)))
        lines.append(
            format_html_join(
                "",
                '<circle class="{}" cx="{}" cy="{}" r="3"><title>{}</title></circle>',
                (
                    (
                        css,
                        x,
                        y,
                        f"Submission {u.pk} ({uk_datetime_text(u.uploaded_at)}): {getattr(u, attr):,} {label}",
                    )
                    for (x, y), u in zip(points, uploads, strict=True)
                ),
            )
        )
    labels = format_html_join(
        "",
        '<text class="axis-label" x="{}" y="{}" text-anchor="middle">{}</text>',
        ((point(k, 0)[0], HEIGHT - BOTTOM + 14, f"#{u.pk}") for k, u in enumerate(uploads)),
    )
    return format_html(
        '<svg class="credibility-chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-label="Errors and warnings of each upload">'
        '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<text class="axis-label" x="{}" y="{}" text-anchor="end">{}</text>{}{}'
        '<rect class="line-errors-key" x="{}" y="{}" width="10" height="10"/>'
        '<text class="axis-label" x="{}" y="{}">errors</text>'
        '<rect class="line-warnings-key" x="{}" y="{}" width="10" height="10"/>'
        '<text class="axis-label" x="{}" y="{}">warnings</text></svg>',
        width,
        HEIGHT,
        width,
        HEIGHT,
        LEFT,
        TOP + plot,
        width,
        TOP + plot,
        LEFT - 4,
        TOP + 8,
        f"{top_value:,}",
        format_html_join("", "{}", ((line,) for line in lines)),
        labels,
        LEFT,
        HEIGHT - 14,
        LEFT + 14,
        HEIGHT - 5,
        LEFT + 90,
        HEIGHT - 14,
        LEFT + 104,
        HEIGHT - 5,
    )
