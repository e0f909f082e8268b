"""Notices shown above a collection's upload form by the apps that build on collections_app (it
imports none of them): each registers, in its AppConfig.ready(), a function of the provider and
collection returning a sentence to show before the file is chosen, or None."""

from __future__ import annotations

from collections.abc import Callable

Notice = Callable[..., str | None]

_notices: list[Notice] = []


def add_notice(notice: Notice) -> None:
    if notice not in _notices:
        _notices.append(notice)


def notices_for(*, provider, collection) -> list[str]:
    return [text for notice in _notices if (text := notice(provider=provider, collection=collection))]
