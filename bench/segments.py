"""Segments a marketer might keep, for `make profile SEGMENTS=n`: each customer's events are
re-evaluated against every segment, so the profile of known customers' calls or of orders with
segments defined measures what campaigns does for them. The rules read the events the bench's
load sends (`payloads.EVENTS`), orders and figures, and contacts' fields."""

from __future__ import annotations

from typing import Any

import aiohttp

from ecrm.embedded.stack import EmbeddedStack

TYPICAL: list[dict[str, Any]] = [
    {"event": "Product Viewed", "within_days": 7, "min_count": 3},
    {"event": "Checkout Started", "within_days": 30},
    {"metric": "orders_count", "op": "gte", "value": 1},
    {"metric": "total_spent", "op": "gt", "value": 100},
    {"all": [{"event": "Pricing Viewed"}, {"not": {"event": "Signed Up"}}]},
    {"any": [{"stage": "customer"}, {"event": "Product Added", "min_count": 2}]},
    {"consent": "email"},
    {"tag": "vip"},
    {"attribute": "plan", "op": "eq", "value": "pro"},
    {"event": "Order Placed", "within_days": 90, "min_count": 2},
]


async def define(stack: EmbeddedStack, count: int) -> None:
    """The first `count` of `TYPICAL` (again from the top past its end)."""
    auth = {"Authorization": f"Bearer {stack.admin_token}"}
    async with aiohttp.ClientSession(base_url=stack.gateway_url, headers=auth) as session:
        for n in range(count):
            body = {"name": f"profile-{n}", "rule": TYPICAL[n % len(TYPICAL)]}
            async with session.post("/api/v1/segments", json=body) as response:
                if response.status != 201:
                    raise RuntimeError(f"segment: {response.status} {await response.text()}")
