"""Figures are written by the consumer and by the refresher. A refresh that runs while the
consumer's transaction adds a touch must not leave figures that miss it (on a database of the
interactions schema, with no service running, so the order of events is ours to choose)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import services.interactions
from services.interactions import metrics_refresh
from services.interactions.consumers import publish_metrics
from services.interactions.store import metrics, timeline
from services.interactions.timeline_domain import Entry
from shared.db import create_pool, ensure_database, migrate

MIGRATIONS = Path(services.interactions.__file__).parent / "migrations"


def touch(customer: uuid.UUID, channel: str) -> Entry:
    return Entry(
        ref=f"test:{uuid.uuid4()}",
        channel=channel,
        type="Test",
        summary="a touch",
        source="test",
        occurred_at=datetime.now(UTC),
        customer_id=str(customer),
    )


async def test_a_refresh_during_the_consumers_transaction_misses_no_touch(infra):
    await ensure_database(infra.server_dsn, "ecrm_metrics_race")
    pool = await create_pool(infra.dsn("metrics_race"), 4)
    customer = uuid.uuid4()
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn, conn.transaction():  # a web touch, figures due
            await timeline.add_marking(conn, [touch(customer, "web")])
        async with pool.acquire() as consumer:
            async with consumer.transaction():  # the consumer adds an email touch...
                await timeline.add(consumer, [touch(customer, "email")])
                await publish_metrics(consumer, {customer})
                # ...and while it has not committed, the refresher runs
                refresher = asyncio.create_task(metrics_refresh.refresh_once(pool))
                await asyncio.sleep(0.3)
            await refresher
        while await metrics_refresh.refresh_once(pool):  # whatever is still due
            pass
        async with pool.acquire() as conn:
            figures = await metrics.get(conn, customer)
        assert figures is not None and figures["touches"] == {"web": 1, "email": 1}
    finally:
        await pool.close()
