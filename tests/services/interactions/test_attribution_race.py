"""A visitor's call written while the same visitor is being linked to a customer ends up on the
customer's timeline, whichever commits first, and the link does not hold up ingestion (on a
database of the interactions schema, with no service running, so the order of events is ours to
choose)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from services.interactions import stitch_followup
from services.interactions.app import runtime
from services.interactions.store import identities, interactions, metrics
from services.interactions.timeline_domain import interaction_ref
from services.interactions.tracking_domain import RequestInfo, TrackedCall, parse_call
from shared.cloudevents import Envelope
from shared.db import create_pool, ensure_database, migrate
from shared.events.contacts import Identity, IdentityLinked
from tests.services.interactions.test_metrics_race import MIGRATIONS
from tests.support.events import envelope_of


def linked(kind: str, value: str, customer: uuid.UUID) -> Envelope:
    event = IdentityLinked(customer_id=str(customer), identity=Identity(kind=kind, value=value))
    return envelope_of(event)


def page_view(visitor: str, path: str = "/pricing") -> TrackedCall:
    raw = {"type": "page", "anonymousId": visitor, "properties": {"path": path}}
    return parse_call(raw, RequestInfo(datetime.now(UTC)))


async def a_request_starts_and_ends(pool) -> None:
    async with pool.acquire() as conn, identities.writing_touches(conn):
        await identities.lookup(conn, {("anonymous_id", "someone-else")})


async def test_a_call_in_flight_during_the_stitch_is_stitched(infra):
    await ensure_database(infra.server_dsn, "ecrm_attribution_race")
    pool = await create_pool(infra.dsn("attribution_race"), 4)
    stitch = runtime.dispatcher.by_type[IdentityLinked.ce_type()].handler
    visitor, customer = f"anon-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    call = page_view(visitor)
    try:
        await migrate(pool, MIGRATIONS)

        async def consume_the_link() -> None:
            async with pool.acquire() as conn, conn.transaction():
                await stitch(conn, [linked("anonymous_id", visitor, customer)])

        async with pool.acquire() as ingest:
            async with identities.writing_touches(ingest):  # a tracking request, uncommitted...
                assert not await identities.lookup(ingest, set(call.identities()))
                await interactions.insert_new(ingest, [call], {call.interaction_id: None})
                # ...when the link arrives: it commits without waiting for the request
                await asyncio.wait_for(consume_the_link(), 5)
                followup = asyncio.create_task(stitch_followup.settle_once(pool))
                await asyncio.sleep(0.3)
                assert not followup.done(), "the follow-up waits for the request in flight"
                await asyncio.wait_for(a_request_starts_and_ends(pool), 2)  # not behind it
            assert await asyncio.wait_for(followup, 5) == 1
        async with pool.acquire() as conn:
            entry = await conn.fetchrow(
                "SELECT customer_id, summary FROM timeline WHERE ref = $1",
                interaction_ref(str(call.interaction_id)),
            )
            left = await conn.fetchval("SELECT count(*) FROM attribution_followups")
        assert entry is not None, "the follow-up did not put the call on the timeline"
        assert (entry["customer_id"], entry["summary"]) == (customer, "Viewed page /pricing")
        assert left == 0
    finally:
        await pool.close()


async def test_a_call_written_before_the_link_is_stitched_by_the_link_itself(infra):
    await ensure_database(infra.server_dsn, "ecrm_attribution_before")
    pool = await create_pool(infra.dsn("attribution_before"), 4)
    stitch = runtime.dispatcher.by_type[IdentityLinked.ce_type()].handler
    visitor, customer = f"anon-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    call = page_view(visitor, "/docs")
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            async with identities.writing_touches(conn):
                await interactions.insert_new(conn, [call], {call.interaction_id: None})
            async with conn.transaction():
                await stitch(conn, [linked("anonymous_id", visitor, customer)])
            entry = await conn.fetchval(
                "SELECT customer_id FROM timeline WHERE ref = $1",
                interaction_ref(str(call.interaction_id)),
            )
        assert entry == customer
        assert await stitch_followup.settle_once(pool) == 1  # finds nothing more to attribute
        assert await pool.fetchval("SELECT count(*) FROM timeline") == 1
    finally:
        await pool.close()


async def test_a_link_and_a_follow_up_of_the_same_visitor_do_not_deadlock(infra):
    """A consumer's batch that published figures in an earlier run (so it holds the figures'
    lock) links a visitor whose follow-up is being settled. Both take the figures' lock before
    they rewrite any call, so one waits for the other instead of each holding what the other
    needs (PostgreSQL would abort one of them after `deadlock_timeout`)."""
    await ensure_database(infra.server_dsn, "ecrm_attribution_order")
    pool = await create_pool(infra.dsn("attribution_order"), 4)
    stitch = runtime.dispatcher.by_type[IdentityLinked.ce_type()].handler
    visitor, first, second = f"anon-{uuid.uuid4().hex[:8]}", uuid.uuid4(), uuid.uuid4()
    call = page_view(visitor, "/signup")
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            async with identities.writing_touches(conn):  # written before any link
                await interactions.insert_new(conn, [call], {call.interaction_id: None})
            async with conn.transaction():  # the first link, as a follow-up left it
                await identities.link(conn, [("anonymous_id", visitor, first)])
                await identities.note_followups(conn, [("anonymous_id", visitor, first)])
        async with pool.acquire() as consumer, consumer.transaction():
            await metrics.take_turn(consumer)  # an earlier run of the batch published figures
            followup = asyncio.create_task(stitch_followup.settle_once(pool))
            await asyncio.sleep(0.3)
            await asyncio.wait_for(stitch(consumer, [linked("anonymous_id", visitor, second)]), 5)
        assert await asyncio.wait_for(followup, 5) == 1
        entry = await pool.fetchval(
            "SELECT customer_id FROM timeline WHERE ref = $1",
            interaction_ref(str(call.interaction_id)),
        )
        assert entry == second  # the last link's customer, as the links now say
    finally:
        await pool.close()
