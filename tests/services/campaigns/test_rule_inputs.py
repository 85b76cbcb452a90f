"""Interactions' figures and customers' track calls, applied by campaigns (on a database of the
campaigns schema, with no service running): every figure and every call is kept, and a customer
is re-evaluated only when something a rule reads changed: their orders or total spent (no rule
reads the other figures), or a call whose name a rule asks about."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.campaigns.app import runtime
from shared.db import create_pool, ensure_database, init_connection, migrate
from shared.events.interactions import CustomerMetricsChanged, InteractionRecorded
from tests.services.campaigns.test_track_batches import MIGRATIONS, viewed_cart
from tests.support.events import envelope_of

VIP = {"tag": "vip"}


def figures(customer: uuid.UUID, orders: int, spent: float, seen: datetime):
    return envelope_of(
        CustomerMetricsChanged(
            customer_id=str(customer), orders_count=orders, total_spent=spent, last_seen=seen
        )
    )


async def test_figures_are_kept_and_only_a_change_of_orders_or_spending_re_evaluates(infra):
    await ensure_database(infra.server_dsn, "ecrm_campaigns_figures")
    pool = await create_pool(infra.dsn("campaigns_figures"), 1)
    handler = runtime.dispatcher.by_type[CustomerMetricsChanged.ce_type()].handler
    vip, segment = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await init_connection(conn)
            await conn.execute(
                "INSERT INTO segments (id, name, rule) VALUES ($1, 'vips', $2)", segment, VIP
            )
            # A member by its tag, not yet in the segment: re-evaluation would add it.
            await conn.execute(
                "INSERT INTO audience (customer_id, known, live, tags, orders_count, total_spent)"
                " VALUES ($1, true, true, '{vip}', 2, 40)",
                vip,
            )

            async def apply(envelope) -> tuple[list, list]:
                async with conn.transaction():
                    await handler(conn, [envelope])
                row = await conn.fetchrow(
                    "SELECT orders_count, total_spent, last_seen FROM audience"
                    " WHERE customer_id = $1",
                    vip,
                )
                members = await conn.fetch("SELECT customer_id FROM segment_members")
                return row, [r["customer_id"] for r in members]

            row, members = await apply(figures(vip, 2, 40.0, now))  # only last_seen changed
            assert (row["orders_count"], float(row["total_spent"])) == (2, 40.0)
            assert row["last_seen"] == now and members == []
            row, members = await apply(figures(vip, 3, 40.0, now + timedelta(seconds=1)))
            assert row["orders_count"] == 3 and members == [vip]
    finally:
        await pool.close()


async def test_only_a_track_call_a_rule_reads_re_evaluates(infra):
    """A segment of vips that also asks for a viewed cart: a customer's call named otherwise
    leaves them alone; a viewed cart re-evaluates them."""
    await ensure_database(infra.server_dsn, "ecrm_campaigns_unread_calls")
    pool = await create_pool(infra.dsn("campaigns_unread_calls"), 1)
    handler = runtime.dispatcher.by_type[InteractionRecorded.ce_type()].handler
    vip, segment = uuid.uuid4(), uuid.uuid4()
    rule = {"any": [{"tag": "vip"}, {"event": "Viewed Cart"}]}
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await init_connection(conn)
            await conn.execute(
                "INSERT INTO segments (id, name, rule) VALUES ($1, 'carts', $2)", segment, rule
            )
            await conn.execute(  # a member by its tag, not yet in the segment
                "INSERT INTO audience (customer_id, known, live, tags)"
                " VALUES ($1, true, true, '{vip}')",
                vip,
            )
            members = []
            for name in ("Video Played", "Viewed Cart"):
                call = viewed_cart(vip).model_copy(update={"name": name})
                async with conn.transaction():
                    await handler(conn, [envelope_of(call)])
                rows = await conn.fetch("SELECT customer_id FROM segment_members")
                members.append([r["customer_id"] for r in rows])
            recorded = await conn.fetchval("SELECT count(*) FROM audience_events")
    finally:
        await pool.close()
    assert members == [[], [vip]] and recorded == 2  # both calls are kept for later rules
