"""Sections other apps add to the account page (accounts imports none of them): each app registers,
in its AppConfig.ready(), a function of the request returning the section's HTML (or "")."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

Section = Callable[[HttpRequest], str]

_sections: list[Section] = []


def add_section(section: Section) -> None:
    if section not in _sections:
        _sections.append(section)


def sections(request: HttpRequest) -> list[str]:
    return [html for section in _sections if (html := section(request))]
