"""The relay's rounds: commits that come faster than `round_interval_s` go out together, a
backlog goes out without waiting between full batches, and a commit after a quiet spell goes out
at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from shared import outbox
from shared.relay import OutboxRelay, make_producer
from tests.platform.relays import relay_database, rows_on
from tests.platform.test_relay_wakeup import commit_and_notify
from tests.support.events import eventually

POLL_S = 60.0  # far longer than the tests wait: only wake-ups publish


@asynccontextmanager
async def running_relay(
    infra, name: str, round_interval_s: float, batch_size: int = 1000, backlog: int = 0
) -> AsyncIterator[tuple[OutboxRelay, asyncpg.Pool, str]]:
    """A relay on a fresh outbox and topic, with `backlog` rows committed before it starts."""
    dsn, pool, topic = await relay_database(infra, name)
    if backlog:
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add_rows(conn, rows_on(topic, backlog))
    producer = make_producer(infra.bootstrap)
    relay = OutboxRelay(
        name,
        pool,
        dsn,
        producer,
        batch_size=batch_size,
        poll_interval=POLL_S,
        round_interval_s=round_interval_s,
    )
    stop = asyncio.Event()
    await producer.start()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield relay, pool, topic
    finally:
        stop.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await producer.stop()
        await pool.close()


async def all_published(pool: asyncpg.Pool, topic: str) -> bool:
    return not await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE topic = $1 AND published_at IS NULL", topic
    )


async def test_commits_faster_than_the_interval_go_out_in_few_rounds(infra):
    async with running_relay(infra, "relay_rounds_spaced", round_interval_s=0.25) as (
        relay,
        pool,
        topic,
    ):
        await asyncio.sleep(0.5)  # elected, listening
        for row in rows_on(topic, 40):  # one commit every ~10 ms, each waking the relay
            await commit_and_notify(pool, [row])
            await asyncio.sleep(0.01)
        await eventually(lambda: all_published(pool, topic), timeout=10)
        # ~0.5 s of commits: a round every 0.25 s at most, not a round a commit
        assert 1 < relay.rounds <= 6, relay.rounds


async def test_a_backlog_goes_out_without_waiting_between_full_batches(infra):
    # an interval far longer than the wait: three full batches, then the rest, with no pause
    async with running_relay(
        infra, "relay_rounds_backlog", round_interval_s=60.0, batch_size=10, backlog=35
    ) as (relay, pool, topic):
        await eventually(lambda: all_published(pool, topic), timeout=10)
        assert relay.rounds == 4


async def test_a_commit_after_a_quiet_spell_goes_out_at_once(infra):
    async with running_relay(infra, "relay_rounds_quiet", round_interval_s=60.0) as (
        relay,
        pool,
        topic,
    ):
        await asyncio.sleep(0.5)  # elected; its first rounds found nothing
        await commit_and_notify(pool, rows_on(topic, 1))
        await eventually(lambda: all_published(pool, topic), timeout=10)  # not 60 s later
        assert relay.rounds == 1
