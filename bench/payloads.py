"""Realistic tracking payloads, the same shape for the raw broker run and the API run."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

PAGES = ["/", "/pricing", "/docs", "/blog/launch", "/signup", "/features", "/contact"]
EVENTS = ["Product Viewed", "Product Added", "Checkout Started", "Pricing Viewed", "Signed Up"]
VISITORS = 5000  # distinct visitors of the load: anon-0 .. anon-4999


def track_event(anonymous_id: str, rng: random.Random) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    if rng.random() < 0.5:
        return {
            "type": "page",
            "anonymousId": anonymous_id,
            "messageId": str(uuid.uuid4()),
            "name": "Home",
            "properties": {"path": rng.choice(PAGES), "referrer": "https://example.org/"},
            "context": {"userAgent": "Mozilla/5.0 bench", "ip": "127.0.0.1", "locale": "en-GB"},
            "timestamp": now,
            "sentAt": now,
        }
    return {
        "type": "track",
        "anonymousId": anonymous_id,
        "messageId": str(uuid.uuid4()),
        "event": rng.choice(EVENTS),
        "properties": {"sku": f"SKU-{rng.randrange(1000)}", "price": round(rng.uniform(5, 500), 2)},
        "context": {"userAgent": "Mozilla/5.0 bench", "ip": "127.0.0.1", "locale": "en-GB"},
        "timestamp": now,
        "sentAt": now,
    }


def sign_in(anonymous_id: str) -> dict[str, Any]:
    """A visitor signs in as a new user: contacts creates the customer and links both ids, and
    interactions stitches the visitor's history into the new timeline."""
    now, user = datetime.now(UTC).isoformat(), uuid.uuid4().hex[:16]
    return {
        "type": "identify",
        "anonymousId": anonymous_id,
        "userId": f"user-{user}",
        "messageId": str(uuid.uuid4()),
        "traits": {"email": f"{user}@example.org", "name": "Bench Visitor"},
        "context": {"userAgent": "Mozilla/5.0 bench", "ip": "127.0.0.1", "locale": "en-GB"},
        "timestamp": now,
        "sentAt": now,
    }


def batch(
    size: int, rng: random.Random, visitors: int = VISITORS, sign_ins: float = 0.0
) -> dict[str, Any]:
    """`sign_ins`: the share of calls that sign a visitor in as a new user (0: all anonymous)."""
    calls = []
    for _ in range(size):
        visitor = f"anon-{rng.randrange(visitors)}"
        signing_in = sign_ins > 0 and rng.random() < sign_ins
        calls.append(sign_in(visitor) if signing_in else track_event(visitor, rng))
    return {"batch": calls, "sentAt": datetime.now(UTC).isoformat()}
