"""A consumer killed (SIGKILL) mid-batch and restarted applies each event exactly once, and
nothing accepted before the kill is lost."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx

from tests.services.interactions.conftest import unique
from tests.support.events import eventually

BATCHES, PER_BATCH = 10, 300


async def test_killed_mid_batch_then_restarted_applies_each_event_once(
    infra, interactions, http, write_auth, db
):
    anonymous_id = unique("anon")
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

    await asyncio.sleep(0.3)  # the relay and the consumer are busy with them now
    os.kill(infra.pid("interactions"), signal.SIGKILL)
    await eventually(lambda: _healthy(interactions), timeout=60, interval=0.5)

    async def all_applied() -> bool:
        count = await db.fetchval(
            "SELECT count(*) FROM timeline WHERE anonymous_id = $1", anonymous_id
        )
        return count == accepted

    await eventually(all_applied, timeout=60, interval=0.5)
    repeated = await db.fetchval(
        "SELECT count(*) FROM (SELECT t.ref FROM timeline t JOIN interactions i"
        " ON t.ref = 'interaction:' || i.id WHERE i.anonymous_id = $1"
        " GROUP BY t.ref HAVING count(*) <> 1) x",
        anonymous_id,
    )
    assert repeated == 0
    applied = await db.fetchval(
        "SELECT count(*) FROM timeline t JOIN interactions i ON t.ref = 'interaction:' || i.id"
        " WHERE i.anonymous_id = $1",
        anonymous_id,
    )
    assert applied == accepted


async def _healthy(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{url}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False
