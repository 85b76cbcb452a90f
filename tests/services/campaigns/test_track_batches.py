"""Customers' track calls applied as a batch (on a database of the campaigns schema, with no
service running): each recorded once, a placeholder row for a customer contacts has not
described yet, and memberships as call by call."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import services.campaigns
from services.campaigns.app import runtime
from shared.db import create_pool, ensure_database, migrate
from shared.events.interactions import InteractionRecorded
from tests.support.events import envelope_of

MIGRATIONS = Path(services.campaigns.__file__).parent / "migrations"
TWICE = {"event": "Viewed Cart", "within_days": 7, "min_count": 2}


def viewed_cart(customer: uuid.UUID) -> InteractionRecorded:
    return InteractionRecorded(
        interaction_id=uuid.uuid4().hex,
        customer_id=str(customer),
        kind="track",
        name="Viewed Cart",
        occurred_at=datetime.now(UTC),
    )


async def test_a_batch_of_track_calls_is_recorded_once_and_evaluated_in_waves(infra):
    await ensure_database(infra.server_dsn, "ecrm_campaigns_track_batch")
    pool = await create_pool(infra.dsn("campaigns_track_batch"), 2)
    handler = runtime.dispatcher.by_type[InteractionRecorded.ce_type()].handler
    twice, once, segment = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    batch = [envelope_of(e) for e in (viewed_cart(twice), viewed_cart(once), viewed_cart(twice))]
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO segments (id, name, rule) VALUES ($1, 'carts', $2)", segment, TWICE
            )
            await conn.execute(
                "INSERT INTO audience (customer_id, known, live) VALUES ($1, true, true)", twice
            )
            for _ in range(2):  # the same batch again records nothing more
                async with conn.transaction():
                    await handler(conn, batch)
            events = await conn.fetch(
                "SELECT customer_id, count(*) AS n FROM audience_events GROUP BY customer_id"
            )
            placeholder = await conn.fetchrow(
                "SELECT known, live FROM audience WHERE customer_id = $1", once
            )
            members = await conn.fetch("SELECT customer_id FROM segment_members")
        assert {r["customer_id"]: r["n"] for r in events} == {twice: 2, once: 1}
        assert (placeholder["known"], placeholder["live"]) == (False, False)
        assert [r["customer_id"] for r in members] == [twice]
    finally:
        await pool.close()
