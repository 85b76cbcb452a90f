"""The relay marks rows published without waiting for the WAL flush: a mark lost in a crash only
publishes its rows again, which consumers dedupe, while every writer's commit (an accepted call,
a consumer's effect) still waits for it."""

from __future__ import annotations

import asyncio

import asyncpg

from shared import outbox
from shared.relay import OutboxRelay, make_producer
from tests.platform.relays import relay_database, rows_on
from tests.support.events import eventually


async def test_the_relay_alone_commits_without_waiting_for_the_flush(infra):
    dsn, pool, topic = await relay_database(infra, "relay_commit")
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
        await producer.start()
        task = asyncio.create_task(relay.run(stop))
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add_rows(conn, rows_on(topic, 5))

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
