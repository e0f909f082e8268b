"""{% credibility_summary submission %}: the flag count and a link, for the submission page."""

from django import template

from credibility import selectors

register = template.Library()


@register.inclusion_tag("credibility/_summary.html")
def credibility_summary(submission):
    return {"submission": submission, "summary": selectors.credibility_summary(submission=submission)}
