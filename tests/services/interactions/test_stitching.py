"""Stitching: a visitor's calls accepted before anyone knew who they were stay raw rows, on no
timeline, until contacts links the visitor; then each gets the entry its acceptance would have
written (on a database of the interactions schema, with no service running)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.interactions import timeline_domain
from services.interactions.app import runtime
from services.interactions.store import identities, interactions
from services.interactions.tracking_domain import RequestInfo, parse_call
from services.interactions.tracking_record import recorded_data
from shared.db import create_pool, ensure_database, migrate
from shared.events.contacts import CustomerCreated, CustomersMerged, IdentityLinked
from shared.events.interactions import CustomerMetricsChanged
from shared.messaging import _runs
from tests.services.interactions.test_attribution_race import linked, page_view
from tests.services.interactions.test_metrics_race import MIGRATIONS
from tests.support.events import envelope_of

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


async def test_a_batch_of_links_is_applied_as_if_one_by_one(infra):
    """Many sign-ins in one batch: each visitor's calls reach the customer of the visitor's
    first link, the link itself ends at the last; a merged customer's links go to the
    survivor, a deleted customer's are dropped; every identity gets its follow-up."""
    await ensure_database(infra.server_dsn, "ecrm_stitch_batch")
    pool = await create_pool(infra.dsn("stitch_batch"), 2)
    stitch = runtime.dispatcher.by_type[IdentityLinked.ce_type()].handler
    visitors = [f"anon-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    first, later, merged, survivor, deleted = (uuid.uuid4() for _ in range(5))
    calls = {v: [page_view(v, f"/{v}/{i}") for i in range(3)] for v in visitors}
    batch = [
        linked("anonymous_id", visitors[0], first),
        linked("anonymous_id", visitors[1], first),
        linked("anonymous_id", visitors[2], first),
        linked("anonymous_id", visitors[2], later),  # the same visitor again, another customer
        linked("anonymous_id", visitors[3], merged),
        linked("anonymous_id", visitors[4], deleted),
    ]
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await interactions.insert_new(conn, [c for cs in calls.values() for c in cs], {})
            await conn.execute(
                "INSERT INTO merged_customers (merged_id, survivor_id) VALUES ($1, $2)",
                merged,
                survivor,
            )
            await conn.execute("INSERT INTO deleted_customers (customer_id) VALUES ($1)", deleted)
            async with conn.transaction():
                await stitch(conn, batch)
            owners = {
                r["anonymous_id"]: r["owners"]
                for r in await conn.fetch(
                    "SELECT anonymous_id, array_agg(DISTINCT customer_id) AS owners"
                    " FROM interactions GROUP BY anonymous_id"
                )
            }
            on_timeline = dict(
                await conn.fetch("SELECT customer_id, count(*) FROM timeline GROUP BY customer_id")
            )
            links = dict(
                await conn.fetch(
                    "SELECT value, customer_id FROM identity_links WHERE kind = $1", "anonymous_id"
                )
            )
            followups = await conn.fetchval(
                "SELECT count(DISTINCT value) FROM attribution_followups"
            )
        assert owners[visitors[0]] == owners[visitors[1]] == owners[visitors[2]] == [first]
        assert owners[visitors[3]] == [survivor]
        assert owners[visitors[4]] == [None]
        assert on_timeline == {first: 9, survivor: 3}
        assert links == {
            visitors[0]: first,
            visitors[1]: first,
            visitors[2]: later,
            visitors[3]: survivor,
        }
        assert followups == 4
    finally:
        await pool.close()


async def test_the_links_with_touches_waiting_are_found_in_one_statement(infra):
    """Of a follow-up's links, those whose identity names calls or orders of nobody yet, for
    each kind of identity; an identity whose touches are attributed already names none."""
    await ensure_database(infra.server_dsn, "ecrm_stitch_waiting")
    pool = await create_pool(infra.dsn("stitch_waiting"), 2)
    visitor, done, user = (f"{p}-{uuid.uuid4().hex[:8]}" for p in ("anon", "done", "user"))
    customer = uuid.uuid4()
    identify = parse_call(
        {"type": "identify", "userId": user, "traits": {}}, RequestInfo(datetime.now(UTC))
    )
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await interactions.insert_new(conn, [page_view(visitor), page_view(done), identify], {})
            await conn.execute(
                "UPDATE interactions SET customer_id = $1 WHERE anonymous_id = $2", customer, done
            )
            for n, (email, loyalty) in enumerate([("a@example.org", None), (None, "L-1")]):
                await conn.execute(
                    "INSERT INTO orders (id, store_id, order_id, email, loyalty_id, channel,"
                    " currency, total, lines, placed_at, fingerprint)"
                    " VALUES ($1, 's', $2, $3, $4, 'store', 'EUR', 1, '[]', now(), 'f')",
                    uuid.uuid4(),
                    f"o-{n}",
                    email,
                    loyalty,
                )
            links = [
                ("anonymous_id", "nobody", customer),
                ("anonymous_id", visitor, customer),
                ("anonymous_id", done, customer),
                ("user_id", user, customer),
                ("email", "b@example.org", customer),
                ("email", "a@example.org", customer),
                ("loyalty_id", "L-1", customer),
                ("loyalty_id", "L-2", customer),
            ]
            assert await identities.with_touches_waiting(conn, links) == [1, 3, 5, 6]
            assert await identities.with_touches_waiting(conn, []) == []
    finally:
        await pool.close()


async def test_a_batch_of_sign_ins_is_one_run_with_its_figures_published_once(infra):
    """Contacts' events of several sign-ins come interleaved (the customer, then its links):
    they make one run of one handler, which stitches the links, adds the others' entries and
    publishes each customer's figures once; a merge still splits the run (it goes alone)."""
    await ensure_database(infra.server_dsn, "ecrm_stitch_run")
    pool = await create_pool(infra.dsn("stitch_run"), 2)
    people = [(f"anon-{uuid.uuid4().hex[:8]}", uuid.uuid4()) for _ in range(3)]
    batch = []
    for visitor, customer in people:
        batch += [
            envelope_of(CustomerCreated(customer_id=str(customer), email=f"{visitor}@e.org")),
            linked("anonymous_id", visitor, customer),
        ]
    merge = envelope_of(CustomersMerged(customer_id=str(people[0][1]), merged_id=str(uuid.uuid4())))
    runs = _runs([*batch, merge, *batch], runtime.dispatcher.route)
    assert [len(envs) for _, envs in runs] == [6, 1, 6]
    handler = runs[0][0]
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await interactions.insert_new(conn, [page_view(v) for v, _ in people], {})
            async with conn.transaction():
                await handler.apply(conn, batch)
            on_timeline = {
                (r["customer_id"], r["type"])
                for r in await conn.fetch("SELECT customer_id, type FROM timeline")
            }
            figures = await conn.fetch(
                "SELECT subject, count(*) FROM outbox WHERE ce_type = $1 GROUP BY subject",
                METRICS_TYPE,
            )
        assert on_timeline == {(c, t) for _, c in people for t in ("CustomerCreated", "page")}
        assert sorted(r["count"] for r in figures) == [1, 1, 1]
    finally:
        await pool.close()
