"""Evaluate an (inlined) rule against one customer's projection, in Python."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from services.campaigns.rules.values import compare, contains, json_equal


@dataclass(frozen=True)
class Profile:
    customer_id: str
    tags: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    stage: str = "lead"
    consent: dict[str, str] = field(default_factory=dict)
    orders_count: int = 0
    total_spent: Decimal = Decimal(0)
    events: list[tuple[str, datetime]] = field(default_factory=list)


def matches(rule: dict[str, Any], profile: Profile, now: datetime) -> bool:
    if "all" in rule:
        return bool(rule["all"]) and all(matches(r, profile, now) for r in rule["all"])
    if "any" in rule:
        return any(matches(r, profile, now) for r in rule["any"])
    if "not" in rule:
        return not matches(rule["not"], profile, now)
    if "tag" in rule:
        return rule["tag"] in profile.tags
    if "stage" in rule:
        return profile.stage == rule["stage"]
    if "consent" in rule:
        return profile.consent.get(rule["consent"]) == rule.get("state", "subscribed")
    if "attribute" in rule:
        return _attribute(rule, profile.attributes)
    if "metric" in rule:
        value = profile.orders_count if rule["metric"] == "orders_count" else profile.total_spent
        return compare(value, rule["op"], rule["value"])
    if "event" in rule:
        return _event_count(rule, profile, now) >= rule.get("min_count", 1)
    raise ValueError(f"not an inlined rule node: {sorted(rule)}")


def _attribute(rule: dict[str, Any], attributes: dict[str, Any]) -> bool:
    actual = attributes.get(rule["attribute"])
    op = rule["op"]
    if op == "exists":
        return (actual is not None) == rule.get("value", True)
    if op == "eq":
        return actual is not None and json_equal(actual, rule["value"])
    if op == "ne":
        return not (actual is not None and json_equal(actual, rule["value"]))
    if op == "in":
        return actual is not None and any(json_equal(actual, v) for v in rule["value"])
    if op == "contains":
        return contains(actual, rule["value"])
    return compare(actual, op, rule["value"])


def _event_count(rule: dict[str, Any], profile: Profile, now: datetime) -> int:
    since = now - timedelta(days=rule["within_days"]) if "within_days" in rule else None
    return sum(
        1 for name, at in profile.events if name == rule["event"] and (since is None or at >= since)
    )
