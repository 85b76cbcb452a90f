"""Every event type of the platform, by owner: topics, ce_types and their models."""

from __future__ import annotations

from importlib import import_module
from pkgutil import iter_modules

import shared.events as package
from shared.events.base import Event

_SKIP = {"base", "catalogue"}


def owner_modules() -> list:
    return [
        import_module(f"shared.events.{m.name}")
        for m in iter_modules(package.__path__)
        if m.name not in _SKIP
    ]


def all_event_types() -> list[type[Event]]:
    types: list[type[Event]] = []
    for module in owner_modules():
        types.extend(getattr(module, "EVENTS", ()))
        types.extend(getattr(module, "REQUESTS", ()))
    return types


def by_ce_type() -> dict[str, type[Event]]:
    return {t.ce_type(): t for t in all_event_types()}


def all_topics(with_dlq: bool = True) -> list[str]:
    topics = sorted({t.topic() for t in all_event_types()})
    return topics + [f"{t}.dlq" for t in topics] if with_dlq else topics
