"""The relay marks rows published without waiting for the WAL flush: a mark lost in a crash only
publishes its rows again, which consumers dedupe, while every writer's commit (an accepted call,
a consumer's effect) still waits for it."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path

import asyncpg

from shared import outbox
from shared.db import create_pool, ensure_database, migrate
from shared.events.contacts import CustomerDeleted
from shared.kafka_admin import ensure_topics
from shared.relay import OutboxRelay, make_producer
from tests.support.events import eventually


async def test_the_relay_alone_commits_without_waiting_for_the_flush(infra):
    await ensure_database(infra.server_dsn, "ecrm_relay_commit")
    dsn = infra.dsn("relay_commit")
    pool = await create_pool(dsn, 2)
    topic = f"ecrm.test.relay-commit-{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.bootstrap, [topic], partitions=1)
    producer = make_producer(infra.bootstrap)
    relay = OutboxRelay("relay_commit", pool, dsn, producer, poll_interval=0.1)
    seen: list[str] = []  # the relay session's setting, each time it marks rows
    publish = relay.publish_pending

    async def noting(conn: asyncpg.Connection) -> int:
        seen.append(await conn.fetchval("SHOW synchronous_commit"))
        return await publish(conn)

    relay.publish_pending = noting  # type: ignore[method-assign]
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    try:
        await migrate(pool, Path(tempfile.mkdtemp()))
        await producer.start()
        task = asyncio.create_task(relay.run(stop))
        rows = [outbox.row_of(CustomerDeleted(customer_id=f"c{i}")) for i in range(5)]
        for row in rows:
            row["topic"] = topic
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add_rows(conn, rows)

        async def published() -> bool:
            return not await pool.fetchval(
                "SELECT count(*) FROM outbox WHERE topic = $1 AND published_at IS NULL", topic
            )

        await eventually(published)
        assert seen and set(seen) == {"off"}
        assert await pool.fetchval("SHOW synchronous_commit") == "on"  # the writers wait
    finally:
        stop.set()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        await producer.stop()
        await pool.close()
