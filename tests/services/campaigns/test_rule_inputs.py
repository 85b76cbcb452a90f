"""Interactions' figures and customers' track calls, applied by campaigns (on a database of the
campaigns schema, with no service running): every figure and every call is kept, and a customer
is re-evaluated only when something a rule reads changed: their orders or total spent (no rule
reads the other figures), or a call whose name a rule asks about."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.campaigns.app import runtime
from shared.db import create_pool, ensure_database, init_connection, migrate
from shared.events.interactions import CustomerMetricsChanged
from tests.services.campaigns.test_track_batches import MIGRATIONS, viewed_cart
from tests.support.events import envelope_of


@contextlib.asynccontextmanager
async def a_vip_not_yet_a_member(
    infra: Any, name: str, rule: dict[str, Any]
) -> AsyncIterator[tuple[asyncpg.Connection, uuid.UUID]]:
    """One segment, and a customer its rule selects by tag who is not a member yet: any
    re-evaluation of them adds them."""
    await ensure_database(infra.server_dsn, f"ecrm_{name}")
    pool = await create_pool(infra.dsn(name), 1)
    vip = uuid.uuid4()
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await init_connection(conn)
            await conn.execute(
                "INSERT INTO segments (id, name, rule) VALUES ($1, 'vips', $2)", uuid.uuid4(), rule
            )
            await conn.execute(
                "INSERT INTO audience (customer_id, known, live, tags, orders_count, total_spent)"
                " VALUES ($1, true, true, '{vip}', 2, 40)",
                vip,
            )
            yield conn, vip
    finally:
        await pool.close()


async def applied(conn: asyncpg.Connection, event: Any) -> list[uuid.UUID]:
    """The event through campaigns' handler of its type; the segment's members after it."""
    handler = runtime.dispatcher.by_type[event.ce_type()].handler
    async with conn.transaction():
        await handler(conn, [envelope_of(event)])
    return [r["customer_id"] for r in await conn.fetch("SELECT customer_id FROM segment_members")]


def figures(customer: uuid.UUID, orders: int, seen: datetime) -> CustomerMetricsChanged:
    return CustomerMetricsChanged(
        customer_id=str(customer), orders_count=orders, total_spent=40.0, last_seen=seen
    )


async def test_figures_are_kept_and_only_a_change_of_orders_or_spending_re_evaluates(infra):
    now = datetime.now(UTC)
    async with a_vip_not_yet_a_member(infra, "campaigns_figures", {"tag": "vip"}) as (conn, vip):
        assert await applied(conn, figures(vip, 2, now)) == []  # only last_seen changed
        row = await conn.fetchrow("SELECT * FROM audience WHERE customer_id = $1", vip)
        assert (row["orders_count"], float(row["total_spent"]), row["last_seen"]) == (2, 40.0, now)
        assert await applied(conn, figures(vip, 3, now + timedelta(seconds=1))) == [vip]


async def test_only_a_track_call_a_rule_reads_re_evaluates(infra):
    rule = {"any": [{"tag": "vip"}, {"event": "Viewed Cart"}]}
    async with a_vip_not_yet_a_member(infra, "campaigns_unread_calls", rule) as (conn, vip):
        other = viewed_cart(vip).model_copy(update={"name": "Video Played"})
        assert await applied(conn, other) == []
        assert await applied(conn, viewed_cart(vip)) == [vip]
        # both calls are kept, for segments defined later
        assert await conn.fetchval("SELECT count(*) FROM audience_events") == 2
