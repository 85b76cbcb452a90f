"""A wake-up that arrives while the relay publishes is not lost: the rows committed after its
read go out at once, not at the next poll."""

from __future__ import annotations

import asyncio

import asyncpg

from shared.relay import OutboxRelay, make_producer
from tests.platform.relays import all_published, commit_and_notify, relay_database, rows_on
from tests.support.events import eventually

POLL_S = 60.0  # far longer than the test waits: only a wake-up can publish the second row


async def test_a_commit_during_a_publish_is_published_without_waiting_for_the_poll(infra):
    dsn, pool, topic = await relay_database(infra, "relay_wakeup")
    producer = make_producer(infra.bootstrap)
    relay = OutboxRelay("relay_wakeup", pool, dsn, producer, poll_interval=POLL_S)
    first, second = rows_on(topic, 2)
    send = relay._send

    async def send_then_commit_another(rows: list[asyncpg.Record]) -> None:
        await send(rows)
        if any(r["event_id"] == str(first["event_id"]) for r in rows):
            await commit_and_notify(pool, [second])  # after the relay's read of `first`
            await asyncio.sleep(0.3)  # its notification reaches the relay's session meanwhile

    relay._send = send_then_commit_another  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await producer.start()
        await asyncio.sleep(0.5)  # elected, listening, found nothing to publish
        await commit_and_notify(pool, [first])
        await eventually(lambda: all_published(pool), timeout=10)
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE topic = $1", topic) == 2
    finally:
        stop.set()
        task.cancel()  # it may be waiting out its poll interval
        await asyncio.gather(task, return_exceptions=True)
        await producer.stop()
        await pool.close()
