"""Tracking writes its outbox rows without NOTIFY inside the transaction (NOTIFY serialises
commits); the relay is still woken right after the commit, not at its next poll."""

from __future__ import annotations

import asyncio
import uuid

from shared.outbox import NOTIFY_CHANNEL
from tests.services.interactions.conftest import basic


async def test_an_accepted_batch_wakes_the_relay_after_its_commit(interactions, http, db):
    woken = asyncio.Event()

    def wake(*_: object) -> None:
        woken.set()

    await db.add_listener(NOTIFY_CHANNEL, wake)
    try:
        await asyncio.sleep(0.6)  # let earlier tests' wake-ups pass
        woken.clear()
        call = {"type": "track", "anonymousId": uuid.uuid4().hex, "event": "Woke the relay"}
        response = await http.post(
            f"{interactions}/v1/batch", json={"batch": [call]}, headers=basic()
        )
        assert response.json() == {"success": True}
        await asyncio.wait_for(woken.wait(), 2)
        stored = await db.fetchval(
            "SELECT count(*) FROM outbox WHERE data->>'name' = 'Woke the relay'"
            " AND data->>'anonymous_id' = $1",
            call["anonymousId"],
        )
        assert stored == 1
    finally:
        await db.remove_listener(NOTIFY_CHANNEL, wake)
