"""End-to-end latency: a tracking call accepted -> the touch visible in the customer's timeline."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bench.ingest import basic_auth


async def _json(session: aiohttp.ClientSession, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with session.get(path, **kwargs) as response:
        return response.status, await response.json()


async def identified_probe(
    session: aiohttp.ClientSession, write_key: str, token: str
) -> tuple[str, str]:
    """A visitor identified by user id and email; returns (user id, customer id)."""
    user_id = f"probe-{uuid.uuid4().hex[:8]}"
    email = f"{user_id}@example.com"
    tracking = {"Authorization": basic_auth(write_key)}
    body = {"userId": user_id, "traits": {"email": email}}
    async with session.post("/v1/identify", json=body, headers=tracking) as response:
        await response.read()
    auth = {"Authorization": f"Bearer {token}"}
    for _ in range(300):
        _, found = await _json(session, "/api/v1/customers", params={"email": email}, headers=auth)
        if found.get("items"):
            customer_id = found["items"][0]["id"]
            path = f"/api/v1/customers/{customer_id}/timeline"
            status, timeline = await _json(session, path, headers=auth)
            if status == 200 and timeline["items"]:
                return user_id, customer_id
        await asyncio.sleep(0.1)
    raise RuntimeError("the probe visitor was never resolved to a customer")


POLL_ENTRIES = 10
POLL_S = 0.02  # the latency's resolution


async def measure(
    url: str, write_key: str, token: str, seconds: float, every: float = 0.1
) -> list[float]:
    """Send a uniquely named track call every `every` s; poll the timeline; latencies in ms."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(base_url=url, timeout=timeout) as session:
        user_id, customer_id = await identified_probe(session, write_key, token)
        accepted: dict[str, float] = {}
        seen: dict[str, float] = {}
        stop = asyncio.Event()

        async def sender() -> None:
            await send_calls(session, write_key, user_id, seconds, every, accepted)
            await asyncio.sleep(3)
            stop.set()

        async def poller() -> None:
            auth = {"Authorization": f"Bearer {token}"}
            path = f"/api/v1/customers/{customer_id}/timeline"
            # The newest POLL_ENTRIES touches cover the last second of probe calls; a longer
            # page would only add the probe's own cost to the stack it measures.
            params = {"limit": POLL_ENTRIES, "type": "track"}

            async def read() -> list[Any]:
                _, page = await _json(session, path, params=params, headers=auth)
                return page.get("items", [])

            await watch(read, accepted, seen, stop)

        await asyncio.gather(sender(), poller())
    return [(seen[n] - accepted[n]) * 1000 for n in accepted if n in seen]


async def send_calls(
    session: aiohttp.ClientSession,
    write_key: str,
    user_id: str,
    seconds: float,
    every: float,
    accepted: dict[str, float],
) -> int:
    """A uniquely named track call of `user_id` every `every` s for `seconds`; notes in
    `accepted` when each accepted one was answered. Returns how many were sent."""
    started = time.perf_counter()
    sent = 0
    tracking = {"Authorization": basic_auth(write_key)}
    while time.perf_counter() - started < seconds:
        name = f"Probe {uuid.uuid4().hex[:10]}"
        body = {"userId": user_id, "event": name}
        async with session.post("/v1/track", json=body, headers=tracking) as response:
            await response.read()
            if response.status == 200:
                accepted[name] = time.perf_counter()
        sent += 1
        await asyncio.sleep(max(0.0, started + sent * every - time.perf_counter()))
    return sent


async def watch(
    read: Callable[[], Awaitable[list[Any]]],
    accepted: dict[str, float],
    seen: dict[str, float],
    stop: asyncio.Event,
    every: float = POLL_S,
) -> None:
    """Every `every` s, while an accepted call is not seen yet, read the timeline and note when
    each such call shows in it. Between calls nothing is read: the reads are the probe's own
    load on the stack it measures (a timeline read costs the stack ~2.6 ms of CPU)."""
    while not stop.is_set():
        if unseen := accepted.keys() - seen.keys():
            items = await read()
            now = time.perf_counter()
            for item in items:
                text = str(item)
                for name in [n for n in unseen if n in text]:
                    seen[name] = now
                    unseen.discard(name)
        await asyncio.sleep(every)
