"""One process of a service relays its outbox: the relays of two processes elect one, the other
stands by without touching the outbox, and takes over when the holder's session ends (its
connection lost, or its process gone). Every row reaches the topic once, in id order."""

from __future__ import annotations

import asyncio

from shared import outbox
from shared.relay import OutboxRelay, make_producer
from tests.platform.relays import all_published, relay_database, rows_on
from tests.support.events import eventually, read_topic

LOCK_HOLDERS = """
SELECT pid FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 1
  AND ((classid::bigint << 32) | objid::bigint) = hashtext('outbox-relay:relay_election')::bigint
"""


async def test_one_relay_publishes_and_a_standby_takes_over(infra):
    dsn, pool, topic = await relay_database(infra, "relay_election")
    producers = [make_producer(infra.bootstrap) for _ in range(2)]
    stops = [asyncio.Event(), asyncio.Event()]
    relays = [OutboxRelay("relay_election", pool, dsn, p, poll_interval=0.1) for p in producers]
    senders: list[int] = []  # which relay sent each batch
    for i, relay in enumerate(relays):
        relay._send = _noting(relay._send, senders, i)  # type: ignore[method-assign]
    written: list[str] = []
    tasks: list[asyncio.Task[None]] = []

    async def write(count: int) -> None:
        rows = rows_on(topic, count)
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add_rows(conn, rows)
        written.extend(str(r["event_id"]) for r in rows)

    try:
        for p in producers:
            await p.start()
        tasks += [asyncio.create_task(r.run(s)) for r, s in zip(relays, stops, strict=True)]
        for _ in range(10):  # ten commits, ten wake-ups
            await write(20)
            await asyncio.sleep(0.05)
        await eventually(lambda: all_published(pool))
        assert len(set(senders)) == 1, "one relay publishes, the other stands by"
        [holder] = await pool.fetch(LOCK_HOLDERS)

        await pool.execute("SELECT pg_terminate_backend($1)", holder["pid"])  # session lost
        await write(100)
        await eventually(lambda: all_published(pool))
        assert len(await pool.fetch(LOCK_HOLDERS)) == 1

        elected, sent = senders[-1], len(senders)
        stops[elected].set()  # its process is gone: the other one takes over
        await tasks[elected]
        await write(100)
        await eventually(lambda: all_published(pool))
        assert set(senders[sent:]) == {1 - elected}

        records = [env.id for _, env in await read_topic(infra.bootstrap, topic) if env]
        assert records == written  # each once, in the order written
    finally:
        for s in stops:
            s.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for p in producers:
            await p.stop()
        await pool.close()


def _noting(send, senders: list[int], index: int):  # type: ignore[no-untyped-def]
    async def noted(rows):  # type: ignore[no-untyped-def]
        await send(rows)
        senders.append(index)

    return noted
