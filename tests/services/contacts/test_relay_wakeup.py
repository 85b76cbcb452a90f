"""A create writes its outbox rows without NOTIFY inside the transaction (NOTIFY serialises
commits); the relay is still woken right after the commit, not at its next poll."""

from __future__ import annotations

import asyncio

import asyncpg

from shared.outbox import NOTIFY_CHANNEL


async def test_a_create_wakes_the_relay_after_its_commit(infra, contacts, http, auth, email):
    conn = await asyncpg.connect(infra.dsn("contacts"))
    woken = asyncio.Event()
    await conn.add_listener(NOTIFY_CHANNEL, lambda *_: woken.set())
    try:
        await asyncio.sleep(0.6)  # let earlier tests' wake-ups pass
        woken.clear()
        response = await http.post(
            f"{contacts}/api/v1/customers", json={"email": email}, headers=auth
        )
        assert response.status_code == 201, response.text
        await asyncio.wait_for(woken.wait(), 2)
        written = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE key = $1", response.json()["id"]
        )
        assert written == 1  # CustomerCreated (no consent given, so no ConsentChanged)
    finally:
        await conn.close()
