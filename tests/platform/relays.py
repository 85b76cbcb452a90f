"""A relay's surroundings in tests: a database of its own with the platform's tables and an empty
outbox, a topic of one partition, outbox rows bound for it, and a relay running on them."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path
from typing import Any, Self

import asyncpg

from shared import outbox
from shared.db import create_pool, ensure_database, migrate
from shared.events.contacts import CustomerDeleted
from shared.kafka_admin import ensure_topics
from shared.relay import OutboxRelay, make_producer


async def relay_database(infra: Any, name: str) -> tuple[str, asyncpg.Pool, str]:
    """(dsn, pool, topic) for a relay named `name`; the caller closes the pool."""
    await ensure_database(infra.server_dsn, f"ecrm_{name}")
    dsn = infra.dsn(name)
    topic = f"ecrm.test.{name.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.bootstrap, [topic], partitions=1)
    pool = await create_pool(dsn, 2)
    try:
        await migrate(pool, Path(tempfile.mkdtemp()))
        await pool.execute("TRUNCATE outbox")
    except BaseException:
        await pool.close()
        raise
    return dsn, pool, topic


def rows_on(topic: str, count: int) -> list[dict[str, Any]]:
    """Outbox rows of `count` distinct events, all bound for `topic`."""
    rows = [outbox.row_of(CustomerDeleted(customer_id=f"c{i}")) for i in range(count)]
    for row in rows:
        row["topic"] = topic
    return rows


async def all_published(pool: asyncpg.Pool) -> bool:
    """No outbox row is left unpublished (each relay test's database holds its own outbox)."""
    return not await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")


async def commit_and_notify(pool: asyncpg.Pool, rows: list[dict]) -> None:
    """Commit `rows`, then wake the relay as a service's commit does."""
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add_rows(conn, rows)
    await pool.execute(f"NOTIFY {outbox.NOTIFY_CHANNEL}")


class RunningRelay:
    """A relay on a database and topic of its own (`relay_database`), with `backlog` rows
    committed before it starts; `options` go to `OutboxRelay`. Stopped on exit."""

    def __init__(self, infra: Any, name: str, backlog: int = 0, **options: Any) -> None:
        self.infra, self.name, self.backlog = infra, name, backlog
        self.options = {"poll_interval": 0.1, **options}

    async def __aenter__(self) -> Self:
        self.dsn, self.pool, self.topic = await relay_database(self.infra, self.name)
        if self.backlog:
            async with self.pool.acquire() as conn, conn.transaction():
                await outbox.add_rows(conn, rows_on(self.topic, self.backlog))
        self.producer = make_producer(self.infra.bootstrap)
        await self.producer.start()
        self.relay = OutboxRelay(self.name, self.pool, self.dsn, self.producer, **self.options)
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self.relay.run(self.stop))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        self.task.cancel()  # it may be waiting out its poll interval
        await asyncio.gather(self.task, return_exceptions=True)
        await self.producer.stop()
        await self.pool.close()
