"""Orders through the gateway at a fixed rate, as a shop's point of sale posts them (the store
channel), for `make profile ORDERS=`: each order names one of the customers made beforehand by
email, so interactions resolves it, writes its timeline entry and marks its figures, and
campaigns, sales and analytics apply its OrderPlaced."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from typing import Any

import aiohttp

from bench.ingest import Stream, wait_drained
from ecrm.embedded.stack import EmbeddedStack

ORDERS = Stream("ecrm.interactions.order", ("campaigns", "sales", "analytics"))
CUSTOMERS = 200
CONNECTIONS = 64


def an_order(email: str, rng: random.Random) -> dict[str, Any]:
    lines = [
        {"sku": f"SKU-{rng.randrange(500)}", "quantity": rng.randint(1, 3), "unit_price": "9.90"}
        for _ in range(rng.randint(1, 4))
    ]
    total = sum(line["quantity"] for line in lines) * 9.9
    return {
        "order_id": uuid.uuid4().hex,
        "store_id": f"store-{rng.randrange(20)}",
        "channel": rng.choice(("store", "online")),
        "email": email,
        "currency": "EUR",
        "lines": lines,
        "total": f"{total:.2f}",
        "placed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


class OrderLoad:
    """`rate` orders a second, open loop, over at most 64 connections; an event is one order."""

    def __init__(self, rate: float, customers: int = CUSTOMERS) -> None:
        self.rate = rate
        self.emails = [f"shopper-{uuid.uuid4().hex[:8]}-{i}@example.com" for i in range(customers)]

    async def prepare(self, stack: EmbeddedStack) -> None:
        """The shop's customers, made through the API, known to every service before the
        window."""
        auth = {"Authorization": f"Bearer {stack.admin_token}"}
        async with aiohttp.ClientSession(base_url=stack.gateway_url, headers=auth) as session:
            await subscribed_customers(session, self.emails, "Shopper")
        dsn, bootstrap = stack.settings.database_dsn("interactions"), stack.settings.kafka
        await wait_drained(dsn, bootstrap, 60)

    async def __call__(self, stack: EmbeddedStack, seconds: float) -> tuple[int, dict[str, Any]]:
        rng = random.Random(11)
        latencies: list[float] = []
        statuses: Counter[str] = Counter()
        auth = {"Authorization": f"Bearer {stack.admin_token}"}
        connector = aiohttp.TCPConnector(limit=CONNECTIONS)
        async with aiohttp.ClientSession(
            base_url=stack.gateway_url, headers=auth, connector=connector
        ) as session:

            async def place(body: dict[str, Any]) -> None:
                started = time.perf_counter()
                try:
                    async with session.post("/api/v1/orders", json=body) as response:
                        await response.read()
                        statuses[str(response.status)] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    statuses[type(exc).__name__] += 1
                    return
                latencies.append((time.perf_counter() - started) * 1000)

            started = time.perf_counter()
            tasks = []
            for n in range(int(self.rate * seconds)):
                delay = started + n / self.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                order = an_order(rng.choice(self.emails), rng)
                tasks.append(asyncio.create_task(place(order)))
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - started
        dsn, bootstrap = stack.settings.database_dsn("interactions"), stack.settings.kafka
        drain = await wait_drained(dsn, bootstrap, 120, (ORDERS,))
        placed = statuses.get("201", 0)
        ordered = sorted(latencies)
        return placed, {
            "orders_per_s": self.rate,
            "achieved": round(placed / elapsed),
            "p50_ms": round(ordered[len(ordered) // 2], 1) if ordered else None,
            "p99_ms": round(ordered[int(len(ordered) * 0.99)], 1) if ordered else None,
            "errors": {k: v for k, v in statuses.items() if k != "201"},
            "drain_s": None if drain is None else round(drain, 2),
        }


async def subscribed_customers(
    session: aiohttp.ClientSession, emails: list[str], first_name: str
) -> None:
    """A customer subscribed to email for each address, through the API, 64 at a time."""
    for start in range(0, len(emails), CONNECTIONS):
        batch = emails[start : start + CONNECTIONS]
        await asyncio.gather(*(_created(session, email, first_name) for email in batch))


async def _created(session: aiohttp.ClientSession, email: str, first_name: str) -> None:
    body = {"email": email, "first_name": first_name, "consent": {"email": "subscribed"}}
    async with session.post("/api/v1/customers", json=body) as response:
        if response.status != 201:
            raise RuntimeError(f"customer {email}: {response.status} {await response.text()}")
