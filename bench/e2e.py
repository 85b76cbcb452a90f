"""End-to-end latency: a tracking call accepted -> the touch visible in the customer's timeline."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx


async def identified_probe(
    client: httpx.AsyncClient, write_key: str, token: str
) -> tuple[str, str]:
    """A visitor identified by user id and email; returns (user id, customer id)."""
    user_id = f"probe-{uuid.uuid4().hex[:8]}"
    email = f"{user_id}@example.com"
    await client.post(
        "/v1/identify", auth=(write_key, ""), json={"userId": user_id, "traits": {"email": email}}
    )
    auth = {"Authorization": f"Bearer {token}"}
    for _ in range(300):
        found = (
            await client.get("/api/v1/customers", params={"email": email}, headers=auth)
        ).json()
        if found.get("items"):
            customer_id = found["items"][0]["id"]
            timeline = await client.get(f"/api/v1/customers/{customer_id}/timeline", headers=auth)
            if timeline.status_code == 200 and timeline.json()["items"]:
                return user_id, customer_id
        await asyncio.sleep(0.1)
    raise RuntimeError("the probe visitor was never resolved to a customer")


async def measure(
    url: str, write_key: str, token: str, seconds: float, every: float = 0.1
) -> list[float]:
    """Send a uniquely named track call every `every` s; poll the timeline; latencies in ms."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        user_id, customer_id = await identified_probe(client, write_key, token)
        accepted: dict[str, float] = {}
        seen: dict[str, float] = {}
        stop = asyncio.Event()

        async def sender() -> None:
            started = time.perf_counter()
            n = 0
            while time.perf_counter() - started < seconds:
                name = f"Probe {uuid.uuid4().hex[:10]}"
                response = await client.post(
                    "/v1/track", auth=(write_key, ""), json={"userId": user_id, "event": name}
                )
                if response.status_code == 200:
                    accepted[name] = time.perf_counter()
                n += 1
                await asyncio.sleep(max(0.0, started + n * every - time.perf_counter()))
            await asyncio.sleep(3)
            stop.set()

        async def poller() -> None:
            auth = {"Authorization": f"Bearer {token}"}
            while not stop.is_set():
                page = await client.get(
                    f"/api/v1/customers/{customer_id}/timeline",
                    params={"limit": 50, "type": "track"},
                    headers=auth,
                )
                now = time.perf_counter()
                for item in page.json().get("items", []):
                    for name in accepted.keys() - seen.keys():
                        if name in str(item):
                            seen[name] = now
                await asyncio.sleep(0.02)

        await asyncio.gather(sender(), poller())
    return [(seen[n] - accepted[n]) * 1000 for n in accepted if n in seen]
