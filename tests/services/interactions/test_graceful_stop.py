"""SIGTERM: requests already in flight are answered and kept; the process then stops, its
consumer leaves the group, and the restarted process picks up where it left off."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from datetime import UTC, datetime

import httpx

from shared.events.support import TicketOpened
from shared.kafka_admin import consumer_lag
from tests.services.interactions.conftest import basic
from tests.support.events import eventually, publish


def _batch(tag: str, size: int = 200) -> dict:
    return {
        "batch": [
            {
                "type": "track",
                "anonymousId": f"{tag}-{i % 7}",
                "event": "Drained",
                "messageId": f"{tag}-{i}",
            }
            for i in range(size)
        ]
    }


async def test_sigterm_answers_in_flight_requests_and_keeps_them(infra, interactions, db):
    tag = uuid.uuid4().hex[:10]
    pid = infra.pid("interactions")
    async with httpx.AsyncClient(base_url=interactions, timeout=30) as client:

        async def send(n: int) -> int | None:
            try:
                response = await client.post(
                    "/v1/batch", json=_batch(f"{tag}-{n}"), headers=basic()
                )
                return response.status_code
            except httpx.TransportError:
                return None  # refused before it was accepted: a client retries it

        assert await send(24) == 200  # a fresh process's first requests are slow to start
        calls = [asyncio.create_task(send(n)) for n in range(24)]
        await asyncio.sleep(0.05)  # some requests are now being processed
        os.kill(pid, signal.SIGTERM)
        statuses = await asyncio.gather(*calls)
    assert all(s in (200, None) for s in statuses), statuses  # never a 5xx
    answered = [n for n, s in enumerate(statuses) if s == 200]
    assert answered, "requests in flight were answered before the process stopped"
    for n in answered:  # what was answered 200 is in the database, all of it
        stored = await db.fetchval(
            "SELECT count(*) FROM interactions WHERE message_id LIKE $1", f"{tag}-{n}-%"
        )
        assert stored == 200

    async def restarted() -> bool:
        return infra.supervisor.pids().get("interactions") not in (None, pid)

    await eventually(restarted, timeout=30)


async def test_after_a_graceful_stop_the_consumer_rejoins_and_catches_up(infra, interactions, http):
    pid = infra.pid("interactions")
    os.kill(pid, signal.SIGTERM)
    opened = TicketOpened(  # published while the consumer is away
        ticket_id=uuid.uuid4().hex,
        customer_id=str(uuid.uuid4()),
        subject="While you were out",
        channel="web",
        priority="low",
        opened_at=datetime.now(UTC),
    )
    await publish(infra.bootstrap, opened)

    async def back() -> bool:
        try:
            if infra.supervisor.pids().get("interactions") in (None, pid):
                return False
            return (await http.get(f"{interactions}/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(back, timeout=60)

    async def caught_up() -> bool:
        lags = await consumer_lag(infra.bootstrap, "interactions", [TicketOpened.topic()])
        return sum(p.lag for p in lags) == 0

    await eventually(caught_up, timeout=60)
