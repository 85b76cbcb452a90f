"""Retention: raw tracking rows older than the configured period are purged; newer ones stay."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from services.interactions.store import privacy
from services.interactions.store.privacy import purge_raw
from shared.ids import uuid7_floor

INSERT = """
INSERT INTO interactions (id, message_id, kind, channel, anonymous_id, occurred_at, received_at)
VALUES ($1, $1::uuid::text, 'page', 'web', 'anon-retention', $2, $2)
"""


def received(days_ago: float) -> tuple[uuid.UUID, datetime]:
    """A call's id and time as the tracking API makes them: a uuid7 of the moment received."""
    at = datetime.now(UTC) - timedelta(days=days_ago)
    return uuid.UUID(int=uuid7_floor(at).int | int.from_bytes(os.urandom(8), "big")), at


async def test_raw_tracking_rows_older_than_the_period_are_purged(stack, monkeypatch):
    monkeypatch.setattr(privacy, "PURGE_BATCH", 3)  # several batches
    conn = await asyncpg.connect(stack.infra.dsn("interactions"))
    tx = conn.transaction()
    await tx.start()
    try:
        old = [received(400 + i / 10) for i in range(7)]
        kept = [received(394.9), received(10)]
        for call_id, at in old + kept:
            await conn.execute(INSERT, call_id, at)
        assert await purge_raw(conn, 395) == 7
        ids = [call_id for call_id, _ in old + kept]
        left = await conn.fetch("SELECT id FROM interactions WHERE id = ANY($1::uuid[])", ids)
        assert {r["id"] for r in left} == {call_id for call_id, _ in kept}
        assert await purge_raw(conn, 395) == 0
    finally:
        await tx.rollback()
        await conn.close()
