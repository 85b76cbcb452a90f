"""A visitor's touch written while the same visitor is being linked to a customer ends up on the
customer's timeline, whichever commits first (on a database of the interactions schema, with no
service running, so the order of events is ours to choose)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from services.interactions.app import runtime
from services.interactions.store import identities, timeline
from services.interactions.timeline_domain import Entry
from shared.cloudevents import Envelope
from shared.db import create_pool, ensure_database, migrate
from shared.events.contacts import Identity, IdentityLinked
from tests.services.interactions.test_metrics_race import MIGRATIONS


def linked(anonymous_id: str, customer: uuid.UUID) -> Envelope:
    event = IdentityLinked(
        customer_id=str(customer), identity=Identity(kind="anonymous_id", value=anonymous_id)
    )
    return Envelope(
        id=str(uuid.uuid4()),
        type=event.ce_type(),
        source="/ecrm/contacts",
        subject=str(customer),
        time=datetime.now(UTC),
        key=str(customer),
        data=event.model_dump(mode="json"),
        topic=event.topic(),
        partition=0,
        offset=0,
    )


async def test_a_touch_in_flight_during_the_stitch_is_stitched(infra):
    await ensure_database(infra.server_dsn, "ecrm_attribution_race")
    pool = await create_pool(infra.dsn("attribution_race"), 4)
    stitch = runtime.dispatcher.by_type[IdentityLinked.ce_type()].handler
    visitor, customer = f"anon-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    touch = Entry(
        ref=f"test:{uuid.uuid4()}",
        channel="web",
        type="page",
        summary="Viewed a page",
        source="interactions",
        occurred_at=datetime.now(UTC),
        anonymous_id=visitor,
    )
    try:
        await migrate(pool, MIGRATIONS)

        async def consume_the_link() -> None:
            async with pool.acquire() as conn, conn.transaction():
                await stitch(conn, linked(visitor, customer))

        async with pool.acquire() as ingest:
            async with ingest.transaction():  # a tracking request, not committed yet...
                await identities.writing_touches(ingest)
                await timeline.add(ingest, [touch])
                consumer = asyncio.create_task(consume_the_link())  # ...when the link arrives
                await asyncio.sleep(0.3)
            await consumer
        async with pool.acquire() as conn:
            owner = await conn.fetchval(
                "SELECT customer_id FROM timeline WHERE ref = $1", touch.ref
            )
        assert owner == customer
    finally:
        await pool.close()
