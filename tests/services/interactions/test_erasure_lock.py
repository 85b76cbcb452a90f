"""An erasure scrubs the outbox (every retained row is read) before it takes the attribution
lock, so tracking requests do not wait for that scan: with a tracking transaction in flight,
the erasure has already claimed the person's outbox rows when it starts waiting for the lock."""

from __future__ import annotations

import asyncio
import uuid

from services.interactions.store import identities, privacy
from shared.db import create_pool, ensure_database, migrate
from tests.services.interactions.test_metrics_race import MIGRATIONS
from tests.support.events import eventually

WAITING_FOR_THE_LOCK = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event = 'advisory'"
)


async def test_the_outbox_is_scrubbed_before_tracking_is_held(infra):
    await ensure_database(infra.server_dsn, "ecrm_erasure_lock")
    pool = await create_pool(infra.dsn("erasure_lock"), 4)
    customer, visitor = uuid.uuid4(), f"anon-{uuid.uuid4().hex[:8]}"
    try:
        await migrate(pool, MIGRATIONS)
        await pool.execute(
            "INSERT INTO identity_links (kind, value, customer_id) VALUES ('anonymous_id', $1, $2)",
            visitor,
            customer,
        )
        await pool.execute(
            "INSERT INTO outbox (event_id, topic, key, ce_type, subject, occurred_at, data)"
            " VALUES (gen_random_uuid(), 't', $1, 'c', $1, now(), '{}')",
            visitor,
        )

        async def erase() -> None:
            async with pool.acquire() as conn, conn.transaction():
                await privacy.erase(conn, str(customer), [customer], [])

        async with pool.acquire() as tracking, identities.writing_touches(tracking):
            erasing = asyncio.create_task(erase())
            await eventually(lambda: pool.fetchval(WAITING_FOR_THE_LOCK), timeout=10)
            claimable = await pool.fetch(
                "SELECT id FROM outbox WHERE key = $1 FOR UPDATE SKIP LOCKED", visitor
            )
            assert claimable == []  # the scrub deleted it, uncommitted, before waiting
        await asyncio.wait_for(erasing, 10)
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE key = $1", visitor) == 0
        assert await pool.fetchval("SELECT count(*) FROM identity_links") == 0
    finally:
        await pool.close()
