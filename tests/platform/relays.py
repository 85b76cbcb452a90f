"""A relay's surroundings in tests: a database of its own with the platform's tables and an empty
outbox, a topic of one partition, and outbox rows bound for it."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from shared import outbox
from shared.db import create_pool, ensure_database, migrate
from shared.events.contacts import CustomerDeleted
from shared.kafka_admin import ensure_topics


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
