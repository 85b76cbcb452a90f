"""Realistic tracking payloads, the same shape for the raw broker run and the API run."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

PAGES = ["/", "/pricing", "/docs", "/blog/launch", "/signup", "/features", "/contact"]
EVENTS = ["Product Viewed", "Product Added", "Checkout Started", "Pricing Viewed", "Signed Up"]


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


def batch(size: int, rng: random.Random, visitors: int = 5000) -> dict[str, Any]:
    return {
        "batch": [track_event(f"anon-{rng.randrange(visitors)}", rng) for _ in range(size)],
        "sentAt": datetime.now(UTC).isoformat(),
    }
