"""Customers' orders applied as a batch (on a database of the campaigns schema, with no service
running): each an event for segments once, each journey started once with its own order as
context, memberships as order by order; an order of nobody is not applied."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.campaigns.app import runtime
from shared.db import create_pool, ensure_database, init_connection, migrate
from shared.events.interactions import OrderLine, OrderPlaced
from tests.services.campaigns.test_track_batches import MIGRATIONS
from tests.support.events import envelope_of

TWO_ORDERS = {"event": "Order Placed", "min_count": 2}


def an_order(customer: uuid.UUID | None) -> OrderPlaced:
    return OrderPlaced(
        id=str(uuid.uuid4()),
        order_id=uuid.uuid4().hex,
        store_id="store-1",
        customer_id=str(customer) if customer else None,
        channel="store",
        currency="EUR",
        total=9.9,
        lines=[OrderLine(sku="TEA-1", quantity=1, unit_price=9.9)],
        placed_at=datetime.now(UTC),
    )


async def test_a_batch_of_orders_is_recorded_once_and_starts_each_journey_once(infra):
    await ensure_database(infra.server_dsn, "ecrm_campaigns_order_batch")
    pool = await create_pool(infra.dsn("campaigns_order_batch"), 2)
    route = runtime.dispatcher.by_type[OrderPlaced.ce_type()]
    twice, once, segment, journey = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    orders = [an_order(twice), an_order(once), an_order(None), an_order(twice)]
    batch = [envelope_of(o) for o in orders]
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await init_connection(conn)
            await conn.execute(
                "INSERT INTO segments (id, name, rule) VALUES ($1, 'repeat', $2)",
                segment,
                TWO_ORDERS,
            )
            await conn.execute(
                "INSERT INTO journeys (id, name, trigger, subject, html, from_address)"
                " VALUES ($1, 'thanks', 'order_placed', 's', 'h', 'shop@example.com')",
                journey,
            )
            await conn.execute(
                "INSERT INTO audience (customer_id, known, live) VALUES ($1, true, true)", twice
            )
            applied = [env for env in batch if route.wants(env)]
            for _ in range(2):  # the same batch again records and starts nothing more
                async with conn.transaction():
                    await route.handler(conn, applied)
            events = await conn.fetch("SELECT source_id, customer_id FROM audience_events")
            messages = await conn.fetch(
                "SELECT customer_id, trigger_event_id, context FROM messages"
            )
            members = await conn.fetch("SELECT customer_id FROM segment_members")
    finally:
        await pool.close()
    assert len(applied) == 3  # the order of nobody is left to the other readers
    assert sorted(r["source_id"] for r in events) == sorted(
        f"order:store-1:{o.order_id}" for o in orders if o.customer_id
    )
    started = {str(r["trigger_event_id"]): r for r in messages}
    assert len(messages) == 3 and set(started) == {env.id for env in applied}
    for env in applied:
        message = started[env.id]
        assert str(message["customer_id"]) == env.data["customer_id"]
        assert message["context"]["order_id"] == env.data["order_id"]
        assert message["context"]["lines"][0]["sku"] == "TEA-1"
    assert [r["customer_id"] for r in members] == [twice]
