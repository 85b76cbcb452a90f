"""Turning every service's events into timeline entries: channel, type, a short summary.

Pure: an event in, an entry (or None when the event names no customer) out.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.cloudevents import Envelope
from shared.events.interactions import OrderPlaced
from shared.ids import parse_uuid, uuid7

# On the timeline but no touch, so no figure counts them (and they recompute none): edits of the
# customer's record (the contacts channel), and what other services derive about the customer.
# A segment change counted as an email touch would move `last_seen`, which segments are ruled
# by, and feed back into segments.
UNCOUNTED_CHANNEL = "contacts"
DERIVED_TYPES = ("SegmentMembershipChanged", "LeadQualified", "SlaBreached")


def is_touch(channel: str, entry_type: str) -> bool:
    return channel != UNCOUNTED_CHANNEL and entry_type not in DERIVED_TYPES


CHANNEL_OF_OWNER = {
    "support": "support",
    "campaigns": "email",
    "sales": "sales",
    "contacts": UNCOUNTED_CHANNEL,
}
TIME_FIELDS = ("at", "opened_at", "breached_at", "placed_at", "occurred_at")
SUMMARY_LIMIT = 200


@dataclass(frozen=True)
class Entry:
    ref: str  # unique per touch: applying an event twice adds nothing
    channel: str
    type: str
    summary: str
    source: str
    occurred_at: datetime
    customer_id: str | None = None
    anonymous_id: str | None = None
    user_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: Any = field(default_factory=uuid7)


INTERACTION_REF = "interaction:"  # SQL builds it too: erasure finds a call's entry by it


def interaction_ref(interaction_id: str) -> str:
    return f"{INTERACTION_REF}{interaction_id}"


def order_ref(order_uuid: str) -> str:
    return f"order:{order_uuid}"


def from_interaction(data: Mapping[str, Any], entry_id: uuid.UUID | None = None) -> Entry:
    """The entry of an InteractionRecorded's data (`occurred_at` a datetime); `entry_id` is the
    interaction id as a UUID where the caller has it (not parsed again)."""
    interaction_id = data["interaction_id"]
    kept = {
        "interaction_id": interaction_id,
        "message_id": data.get("message_id"),
        "name": data.get("name"),
        "path": data.get("path"),
        "properties": data.get("properties"),
    }
    if data.get("traits"):
        kept["traits"] = data["traits"]
    return Entry(
        # the ingestion id (time-ordered): calls stamped the same millisecond keep their order
        id=entry_id or parse_uuid(interaction_id) or uuid7(),
        ref=interaction_ref(interaction_id),
        channel=data.get("channel") or "web",
        type=data["kind"],
        summary=_web_summary(data),
        source="interactions",
        occurred_at=data["occurred_at"],
        customer_id=data.get("customer_id"),
        anonymous_id=data.get("anonymous_id"),
        user_id=data.get("user_id"),
        data={k: v for k, v in kept.items() if v not in (None, {})},
    )


def _web_summary(data: Mapping[str, Any]) -> str:
    kind, name, user_id = data["kind"], data.get("name"), data.get("user_id")
    target = name or data.get("path")
    if kind in ("page", "screen"):
        summary = f"Viewed {kind} {target}" if target else f"Viewed a {kind}"
    elif kind == "track":
        summary = name or "Tracked event"
    elif kind == "identify":
        traits = data.get("traits") or {}
        summary = f"Identified as {traits.get('email') or user_id or 'visitor'}"
    elif kind == "group":
        summary = "Joined a group"
    elif kind == "alias":
        summary = f"Aliased to user {user_id}"
    else:
        summary = kind
    return _short(summary)


def from_order(event: OrderPlaced, order_uuid: str, customer_id: str | None) -> Entry:
    items = sum(line.quantity for line in event.lines)
    where = f"store {event.store_id}" if event.channel == "store" else "online"
    return Entry(
        ref=order_ref(order_uuid),
        channel=event.channel,
        type="OrderPlaced",
        summary=_short(
            f"Order {event.order_id} ({items} items, {event.total:.2f} {event.currency}) {where}"
        ),
        source="interactions",
        occurred_at=event.placed_at,
        customer_id=customer_id,
        data={
            "order_id": event.order_id,
            "store_id": event.store_id,
            "id": order_uuid,
            "total": event.total,
            "currency": event.currency,
            "lines": [line.model_dump() for line in event.lines],
        },
    )


def from_event(env: Envelope) -> Entry | None:
    """Any other owner's event that names a customer: the owner decides the channel."""
    customer_id = env.data.get("customer_id")
    if not customer_id:
        return None
    owner = owner_of(env)
    data = {k: v for k, v in env.data.items() if k != "customer_id"}
    return Entry(
        ref=f"event:{env.id}",
        channel=CHANNEL_OF_OWNER.get(owner, owner),
        type=env.name,
        summary=_short(summary_of(env.name, env.data)),
        source=owner,
        occurred_at=occurred_at(env),
        customer_id=str(customer_id),
        data=data,
    )


def owner_of(env: Envelope) -> str:
    parts = env.type.split(".")
    return parts[1] if len(parts) >= 4 else env.source.rsplit("/", 1)[-1]


def occurred_at(env: Envelope) -> datetime:
    for name in TIME_FIELDS:
        value = env.data.get(name)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return env.time or datetime.now(UTC)


def _g(data: dict[str, Any], key: str, default: str = "?") -> str:
    value = data.get(key)
    return default if value in (None, "") else str(value)


def _changed(d: dict[str, Any]) -> str:
    return "Profile updated: " + (", ".join(d.get("changed") or []) or "details")


SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "CustomerCreated": lambda d: "Customer record created",
    "CustomerUpdated": _changed,
    "ConsentChanged": lambda d: (
        f"Consent for {_g(d, 'channel')}: {_g(d, 'state')} ({_g(d, 'source')})"
    ),
    "CustomersMerged": lambda d: f"Merged with customer {_g(d, 'merged_id')}",
    "TicketOpened": lambda d: f"Ticket opened: {_g(d, 'subject')}",
    "TicketAssigned": lambda d: (
        "Ticket assigned to " + str(d.get("assignee") or d.get("team") or "nobody")
    ),
    "TicketMessageAdded": lambda d: (
        f"{_g(d, 'author_kind', 'someone').capitalize()} message: "
        f"{_g(d, 'body_preview', '')}".rstrip(": ")
    ),
    "TicketStatusChanged": lambda d: f"Ticket {_g(d, 'from_status')} → {_g(d, 'to_status')}",
    "SlaBreached": lambda d: f"SLA breached: {_g(d, 'target')}",
    "SatisfactionRated": lambda d: f"Rated support {_g(d, 'rating')}/5",
    "MessageSent": lambda d: f"Email sent: {_g(d, 'subject')}",
    "MessageOpened": lambda d: "Email opened",
    "LinkClicked": lambda d: f"Clicked {_g(d, 'url')}",
    "MessageBounced": lambda d: f"Email bounced: {_g(d, 'reason')}",
    "SegmentMembershipChanged": lambda d: (
        f"{_g(d, 'change').capitalize()} segment {_g(d, 'segment_id')}"
    ),
    "DealCreated": lambda d: (
        f"Deal created: {_g(d, 'name')} ({_g(d, 'amount')} {_g(d, 'currency')})"
    ),
    "DealStageChanged": lambda d: f"Deal stage {_g(d, 'from_stage')} → {_g(d, 'to_stage')}",
    "DealWon": lambda d: f"Deal won ({_g(d, 'amount')} {_g(d, 'currency')})",
    "DealLost": lambda d: f"Deal lost: {_g(d, 'reason')}",
    "ActivityLogged": lambda d: f"{_g(d, 'kind').capitalize()}: {_g(d, 'subject')}",
    "LeadQualified": lambda d: f"Qualified as a lead (score {_g(d, 'score')})",
}


def summary_of(name: str, data: dict[str, Any]) -> str:
    rule = SUMMARIES.get(name)
    return rule(data) if rule else _words(name)


def _words(name: str) -> str:
    """`TicketReopened` -> `Ticket reopened`."""
    words = re.findall(r"[A-Z]+[a-z0-9]*|[a-z0-9]+", name) or [name]
    return " ".join([words[0], *(w.lower() for w in words[1:])])


def _short(text: str) -> str:
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"
