"""The web and store channels: Segment tracking batches and orders through the gateway."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tests.reliability import client
from tests.reliability.context import RunContext
from tests.reliability.ledger import TrackedCall

PAGES = ["/", "/pricing", "/docs", "/signup"]
EVENTS = ["Product Viewed", "Product Added", "Checkout Started"]


class TrackingLoad:
    """Batches of page, track and identify calls; a few carry an invalid call on purpose."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.visitors = 0

    async def run(self) -> None:
        while await self.ctx.pause(0.1, 0.4):
            await self.send_batch(self.ctx.rng.randint(5, 25))

    async def send_batch(self, size: int) -> None:
        calls = [self._call() for _ in range(size)]
        if self.ctx.rng.random() < 0.1:
            calls.append(self._invalid_call())
        for call in calls:
            self.ctx.ledger.tracked_attempted.add(call["messageId"])
        now = datetime.now(UTC).isoformat()
        response, _ = await client.send(
            self.ctx.client, self.ctx.ledger, "tracking", "POST", f"{self.ctx.url}/v1/batch",
            json={"batch": calls, "sentAt": now}, auth=(self.ctx.stack.write_key, ""),
        )  # fmt: skip
        if response is None or response.status_code != 200:
            return
        rejected = {r["index"] for r in response.json().get("rejected", [])}
        for index, call in enumerate(calls):
            if index not in rejected:
                self.ctx.ledger.tracked[call["messageId"]] = _tracked(call)

    def _call(self) -> dict[str, Any]:
        rng, ledger = self.ctx.rng, self.ctx.ledger
        known = [ledger.customer_users[e] for e, _ in ledger.live_customers()[-200:]]
        roll = rng.random()
        if roll < 0.3 and known:
            user = rng.choice(known)
            return _track(rng.choice(EVENTS), anonymous_id=f"a-{user}", user_id=user)
        if roll < 0.4:
            self.visitors += 1
            user = f"web-{self.ctx.seed}-{self.visitors}"
            self.ctx.ledger.web_users.add(user)
            return _identify(user, f"{user}@web.chaos.example")
        anonymous = f"anon-{self.ctx.seed}-{rng.randrange(500)}"
        if roll < 0.7:
            return _page(rng.choice(PAGES), anonymous)
        return _track(rng.choice(EVENTS), anonymous_id=anonymous, user_id=None)

    def _invalid_call(self) -> dict[str, Any]:
        call = {"type": "purchase", "messageId": str(uuid.uuid4()), "anonymousId": "x"}
        self.ctx.ledger.tracked_invalid.add(call["messageId"])
        return call


def _base(kind: str, anonymous_id: str | None, user_id: str | None) -> dict[str, Any]:
    call: dict[str, Any] = {
        "type": kind,
        "messageId": str(uuid.uuid4()),
        "timestamp": datetime.now(UTC).isoformat(),
    }
    if anonymous_id:
        call["anonymousId"] = anonymous_id
    if user_id:
        call["userId"] = user_id
    return call


def _track(event: str, anonymous_id: str | None, user_id: str | None) -> dict[str, Any]:
    return {
        **_base("track", anonymous_id, user_id),
        "event": event,
        "properties": {"sku": f"SKU-{uuid.uuid4().hex[:6]}"},
    }


def _page(path: str, anonymous_id: str) -> dict[str, Any]:
    return {**_base("page", anonymous_id, None), "name": path, "properties": {"path": path}}


def _identify(user_id: str, email: str) -> dict[str, Any]:
    return {**_base("identify", None, user_id), "traits": {"email": email, "first_name": "Web"}}


def _tracked(call: dict[str, Any]) -> TrackedCall:
    return TrackedCall(call["messageId"], call["type"], call.get("userId"), call.get("anonymousId"))


class OrderLoad:
    """Store and online orders, re-posted unchanged after a timeout or 5xx."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.count = 0

    async def run(self) -> None:
        while await self.ctx.pause(0.3, 0.8):
            await self.place()

    async def place(self) -> None:
        self.count += 1
        order = self._order(f"o-{self.ctx.seed}-{self.count}")
        self.ctx.ledger.orders_attempted.add(order["order_id"])
        response, _ = await client.send(
            self.ctx.client, self.ctx.ledger, "orders", "POST", f"{self.ctx.url}/api/v1/orders",
            json=order, headers=self.ctx.admin,
        )  # fmt: skip
        if response is not None and response.status_code in (200, 201):
            self.ctx.ledger.orders[order["order_id"]] = order["email"]

    def _order(self, order_id: str) -> dict[str, Any]:
        rng = self.ctx.rng
        customers = self.ctx.ledger.live_customers()
        if customers and rng.random() < 0.7:
            email = rng.choice(customers[-200:])[0]
        else:
            email = f"buyer-{order_id}@shop.chaos.example"
        lines = [
            {
                "sku": f"SKU-{rng.randrange(100)}",
                "quantity": rng.randint(1, 3),
                "unit_price": f"{Decimal(rng.randrange(100, 5000)) / 100:.2f}",
            }
            for _ in range(rng.randint(1, 3))
        ]
        total = sum(Decimal(line["unit_price"]) * line["quantity"] for line in lines)
        return {
            "order_id": order_id, "store_id": self.ctx.tag, "channel": rng.choice(["store", "online"]),
            "email": email, "currency": "EUR", "lines": lines, "total": f"{total:.2f}",
            "placed_at": datetime.now(UTC).isoformat(),
        }  # fmt: skip
