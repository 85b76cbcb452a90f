"""Interactions killed (SIGKILL) while it stitches a long anonymous history and relays the calls,
then restarted: nothing accepted before the kill is lost, and each call reaches the customer's
timeline exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid

import httpx

from shared.events.contacts import Identity, IdentityLinked
from tests.services.interactions.conftest import unique
from tests.support.events import eventually, publish

BATCHES, PER_BATCH = 10, 300


async def test_killed_mid_stitch_then_restarted_applies_each_call_once(
    infra, interactions, http, write_auth, db
):
    anonymous_id, customer = unique("anon"), uuid.uuid4()
    for _ in range(BATCHES):
        calls = [
            {
                "type": "track",
                "event": "Scrolled",
                "anonymousId": anonymous_id,
                "messageId": unique("msg"),
            }
            for _ in range(PER_BATCH)
        ]
        response = await http.post(
            f"{interactions}/v1/batch", json={"batch": calls}, headers=write_auth
        )
        assert response.status_code == 200
    accepted = await db.fetchval(
        "SELECT count(*) FROM interactions WHERE anonymous_id = $1", anonymous_id
    )
    assert accepted == BATCHES * PER_BATCH  # durable before the answer

    link = IdentityLinked(
        customer_id=str(customer), identity=Identity(kind="anonymous_id", value=anonymous_id)
    )
    await publish(infra.bootstrap, link)
    await asyncio.sleep(0.3)  # the consumer is stitching, the relay publishing the calls
    os.kill(infra.pid("interactions"), signal.SIGKILL)
    await eventually(lambda: _healthy(interactions), timeout=60, interval=0.5)

    async def all_stitched() -> bool:
        count = await db.fetchval("SELECT count(*) FROM timeline WHERE customer_id = $1", customer)
        return count == accepted

    await eventually(all_stitched, timeout=60, interval=0.5)
    on_timeline = await db.fetch(
        "SELECT count(t.id) AS n FROM interactions i"
        " LEFT JOIN timeline t ON t.ref = 'interaction:' || i.id"
        " WHERE i.anonymous_id = $1 GROUP BY i.id",
        anonymous_id,
    )
    assert sorted({r["n"] for r in on_timeline}) == [1]
    assert (
        await db.fetchval(
            "SELECT count(*) FROM interactions WHERE anonymous_id = $1 AND customer_id = $2",
            anonymous_id,
            customer,
        )
        == accepted
    )


async def _healthy(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{url}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False
