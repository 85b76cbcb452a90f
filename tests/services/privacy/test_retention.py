"""Retention: raw tracking rows older than the configured period are purged; newer ones stay."""

from __future__ import annotations

import uuid

import asyncpg

from services.interactions.store.privacy import purge_raw

INSERT = """
INSERT INTO interactions (id, message_id, kind, channel, anonymous_id, occurred_at, received_at)
VALUES ($1, $2, 'page', 'web', 'anon-retention', now() - make_interval(days => $3),
        now() - make_interval(days => $3))
"""


async def test_raw_tracking_rows_older_than_the_period_are_purged(stack):
    conn = await asyncpg.connect(stack.infra.dsn("interactions"))
    tx = conn.transaction()
    await tx.start()
    try:
        old, recent = uuid.uuid4(), uuid.uuid4()
        await conn.execute(INSERT, old, f"m-{old}", 400)
        await conn.execute(INSERT, recent, f"m-{recent}", 10)
        assert await purge_raw(conn, 395) >= 1
        left = await conn.fetch(
            "SELECT id FROM interactions WHERE id = ANY($1::uuid[])", [old, recent]
        )
        assert [r["id"] for r in left] == [recent]
    finally:
        await tx.rollback()
        await conn.close()
