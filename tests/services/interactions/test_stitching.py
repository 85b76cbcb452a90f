"""Stitching: a visitor's calls accepted before anyone knew who they were stay raw rows, on no
timeline, until contacts links the visitor; then each gets the entry its acceptance would have
written (on a database of the interactions schema, with no service running)."""

from __future__ import annotations

import uuid

from services.interactions import timeline_domain
from services.interactions.app import runtime
from services.interactions.store import interactions
from services.interactions.tracking_domain import RequestInfo, parse_call
from services.interactions.tracking_record import recorded_data
from shared.db import create_pool, ensure_database, migrate
from shared.events.contacts import IdentityLinked
from shared.events.interactions import CustomerMetricsChanged
from tests.services.interactions.test_attribution_race import linked, page_view
from tests.services.interactions.test_metrics_race import MIGRATIONS

METRICS_TYPE = CustomerMetricsChanged.ce_type()
HISTORY = 2_345  # more than one chunk of the stitch (1,000)


async def test_a_long_anonymous_history_reaches_the_timeline_once_linked(infra):
    await ensure_database(infra.server_dsn, "ecrm_stitching")
    pool = await create_pool(infra.dsn("stitching"), 2)
    stitch = runtime.dispatcher.by_type[IdentityLinked.ce_type()].handler
    visitor, user, customer = (
        f"anon-{uuid.uuid4().hex[:8]}",
        f"u-{uuid.uuid4().hex[:8]}",
        uuid.uuid4(),
    )
    calls = [page_view(visitor, f"/p/{i}") for i in range(HISTORY)]
    identify = parse_call(
        {"type": "identify", "userId": user, "traits": {"plan": "pro"}},
        RequestInfo(calls[0].received_at),
    )
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await interactions.insert_new(conn, [*calls, identify], {})
            assert await conn.fetchval("SELECT count(*) FROM timeline") == 0
            async with conn.transaction():  # a sign-in: its links in one run
                await stitch(
                    conn,
                    [linked("anonymous_id", visitor, customer), linked("user_id", user, customer)],
                )
            figures = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE ce_type = $1", METRICS_TYPE
            )
            async with conn.transaction():  # a link delivered twice adds nothing
                await stitch(conn, [linked("anonymous_id", visitor, customer)])
            entries = await conn.fetch(
                "SELECT id, ref, customer_id, anonymous_id, user_id, channel, type, summary,"
                " source, occurred_at, data FROM timeline"
            )
            unattributed = await conn.fetchval(
                "SELECT count(*) FROM interactions WHERE customer_id IS NULL"
            )
        assert figures == 1, "the run's customer's figures are published once, after its links"
        assert unattributed == 0
        assert len(entries) == HISTORY + 1
        assert {e["customer_id"] for e in entries} == {customer}
        by_ref = {e["ref"]: dict(e) for e in entries}
        for call in [*calls, identify]:
            expected = timeline_domain.from_interaction(
                recorded_data(call, customer), call.interaction_id
            )
            assert by_ref[expected.ref] == {
                "id": expected.id,
                "ref": expected.ref,
                "customer_id": customer,
                "anonymous_id": expected.anonymous_id,
                "user_id": expected.user_id,
                "channel": expected.channel,
                "type": expected.type,
                "summary": expected.summary,
                "source": expected.source,
                "occurred_at": expected.occurred_at,
                "data": expected.data,
            }
    finally:
        await pool.close()
