"""Lead scoring, pure: which rule an event earns, what its points are worth today, the sum.

Decay is linear: an entry loses `decay_per_day` points per day of age (counted from when the
event happened) until it reaches zero; negative points decay towards zero the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field

from shared.inputs import StrictInput

RuleKind = Literal[
    "track", "page", "email_opened", "email_clicked", "order_placed", "ticket_opened"
]
DAY_SECONDS = 86400.0


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    match: str  # normalised track name, page path (a trailing `*` is a prefix), or ""
    points: int
    decay_per_day: float | None = None


@dataclass(frozen=True)
class Signal:
    """A scorable fact about one customer, taken from an event."""

    event_id: str
    customer_id: str
    kind: str
    value: str  # the track name or page path; "" for the kinds without a match
    occurred_at: datetime
    label: str | None = None  # what the history shows (the track name, the path, ...)


@dataclass(frozen=True)
class Entry:
    """One scored event in a customer's history."""

    points: int
    decay_per_day: float | None
    occurred_at: datetime


def normalise_track_name(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().lower()


def normalise_path(path: str) -> str:
    """`https://x.com/Pricing/?a=1` -> `/pricing`; a trailing `*` (prefix rule) is kept."""
    text = path.strip()
    if "//" in text:
        text = urlsplit(text).path or "/"
    wildcard = text.endswith("*")
    text = text.rstrip("*").split("?", 1)[0].split("#", 1)[0].lower()
    if not text.startswith("/"):
        text = "/" + text
    if wildcard:
        return text.rstrip("/") + "/*"
    return text.rstrip("/") or "/"


def rule_for(rules: Iterable[Rule], signal: Signal) -> Rule | None:
    """The one rule an event earns: exact matches first, then the longest page prefix."""
    best: Rule | None = None
    for rule in rules:
        if rule.kind != signal.kind:
            continue
        if rule.match == signal.value:
            return rule
        if (
            rule.kind == "page"
            and _prefix_matches(rule.match, signal.value)
            and (best is None or len(rule.match) > len(best.match))
        ):
            best = rule
    return best


def _prefix_matches(pattern: str, path: str) -> bool:
    if not pattern.endswith("/*"):
        return False
    prefix = pattern[:-2]
    return path == prefix or path.startswith(prefix + "/") or prefix == ""


def fades_out_at(
    points: int, decay_per_day: float | None, occurred_at: datetime
) -> datetime | None:
    if not decay_per_day:
        return None
    return occurred_at + timedelta(days=abs(points) / decay_per_day)


def worth(entry: Entry, now: datetime) -> float:
    """What an entry counts for at `now`."""
    if not entry.decay_per_day:
        return float(entry.points)
    age_days = max(0.0, (now - entry.occurred_at).total_seconds() / DAY_SECONDS)
    left = max(0.0, abs(entry.points) - entry.decay_per_day * age_days)
    return left if entry.points > 0 else -left


def score_of(entries: Iterable[Entry], now: datetime) -> float:
    return round(sum(worth(e, now) for e in entries), 2)


def qualifies(score: float, threshold: float) -> bool:
    return score >= threshold


def signal_from(name: str, event_id: str, data: dict[str, Any]) -> Signal | None:
    """The scorable fact in an event (by its name), or None (anonymous, or nothing to score)."""
    customer_id = data.get("customer_id")
    if not customer_id:
        return None
    reader = _READERS.get(name)
    found = reader(data) if reader else None
    if found is None:
        return None
    kind, value, label, at = found
    return Signal(event_id, str(customer_id), kind, value, _parse_time(at), label)


def _interaction(data: dict[str, Any]) -> tuple[str, str, str | None, Any] | None:
    at = data.get("occurred_at")
    if data.get("kind") == "track" and data.get("name"):
        return "track", normalise_track_name(data["name"]), data["name"], at
    if data.get("kind") == "page":
        path = data.get("path") or (data.get("properties") or {}).get("path")
        if isinstance(path, str) and path:
            return "page", normalise_path(path), path, at
    return None


_READERS = {
    "InteractionRecorded": _interaction,
    "MessageOpened": lambda d: ("email_opened", "", d.get("campaign_id"), d.get("at")),
    "LinkClicked": lambda d: ("email_clicked", "", d.get("url"), d.get("at")),
    "OrderPlaced": lambda d: ("order_placed", "", d.get("order_id"), d.get("placed_at")),
    "TicketOpened": lambda d: ("ticket_opened", "", d.get("subject"), d.get("opened_at")),
}


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


TRIGGERS = ("event", "page", "email", "order", "ticket")


class RuleIn(StrictInput):
    """Exactly one trigger: `event` (a track name), `page` (a path, `/blog/*` for a prefix),
    `email` (opened|clicked), `order` (placed) or `ticket` (opened)."""

    event: str | None = Field(default=None, min_length=1, max_length=200)
    page: str | None = Field(default=None, min_length=1, max_length=2000)
    email: Literal["opened", "clicked"] | None = None
    order: Literal["placed"] | None = None
    ticket: Literal["opened"] | None = None
    points: int = Field(ge=-10000, le=10000)
    decay_per_day: float | None = Field(default=None, gt=0, le=10000)

    def trigger(self) -> tuple[str, str]:
        """(kind, match); ValueError unless exactly one trigger is given."""
        given = [t for t in TRIGGERS if getattr(self, t) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of: " + ", ".join(TRIGGERS))
        if self.event is not None:
            return "track", normalise_track_name(self.event)
        if self.page is not None:
            return "page", normalise_path(self.page)
        if self.email is not None:
            return f"email_{self.email}", ""
        return ("order_placed", "") if self.order else ("ticket_opened", "")


class SettingsIn(StrictInput):
    qualify_at: float = Field(gt=0, le=1_000_000)
