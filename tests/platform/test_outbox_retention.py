"""Outbox retention: rows published longer ago than the retention go, in batches, oldest first;
unpublished rows and recently published ones stay (`ecrm replay` needs them), and so does a row
above them until they go (the purge stops at the first row it keeps)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from shared import outbox
from shared.db import create_pool, ensure_database, migrate
from shared.events.contacts import CustomerDeleted


async def test_purge_keeps_the_unpublished_and_the_recent(infra, monkeypatch):
    await ensure_database(infra.server_dsn, "ecrm_outbox_retention")
    pool = await create_pool(infra.dsn("outbox_retention"), 2)
    monkeypatch.setattr(outbox, "PURGE_BATCH", 7)  # several batches
    try:
        await migrate(pool, Path(tempfile.mkdtemp()))
        async with pool.acquire() as conn:
            await conn.execute("TRUNCATE outbox")
            async with conn.transaction():
                events = [CustomerDeleted(customer_id=f"c{i}") for i in range(40)]
                ids = await outbox.add_many(conn, events)
            old, recent = ids[:25], ids[25:32]  # ids[32:] stay unpublished
            await conn.execute(
                "UPDATE outbox SET published_at = now() - interval '200 hours'"
                " WHERE event_id = ANY($1::uuid[])",
                old,
            )
            await conn.execute(
                "UPDATE outbox SET published_at = now() - interval '1 hour'"
                " WHERE event_id = ANY($1::uuid[])",
                recent,
            )
            assert await outbox.purge_published(conn, 168) == 25
            left = await conn.fetch("SELECT event_id, published_at FROM outbox")
            assert {r["event_id"] for r in left} == set(ids[25:])
            assert sum(r["published_at"] is None for r in left) == 8
            assert await outbox.backlog(conn) == 8

            # published long ago above a row still kept: it waits until the rows below it go
            straggler = ids[35]
            await conn.execute(
                "UPDATE outbox SET published_at = now() - interval '300 hours' WHERE event_id = $1",
                straggler,
            )
            assert await outbox.purge_published(conn, 168) == 0
            await conn.execute(
                "UPDATE outbox SET published_at = now() - interval '200 hours'"
                " WHERE event_id = ANY($1::uuid[])",
                ids[25:35],
            )
            assert await outbox.purge_published(conn, 168) == 11  # ids[25:36]
            left = await conn.fetch("SELECT event_id FROM outbox ORDER BY id")
            assert [r["event_id"] for r in left] == ids[36:]
    finally:
        await pool.close()
