"""The sweep of time-window segments evaluates again only the customers one of whose events left
a window since the last build or sweep. After a day passes (every event a day older, the last
build a day earlier) it must leave each segment exactly as a full build would."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from services.campaigns.rules.parse import inline
from services.campaigns.sending import scheduler
from services.campaigns.store import builds, membership
from shared.db import create_pool, ensure_database, migrate
from tests.services.campaigns.test_track_batches import MIGRATIONS

CUSTOMERS = 300
RULES = [
    {"event": "Viewed", "within_days": 3, "min_count": 2},
    {"not": {"event": "Bought", "within_days": 2}},
    {"all": [{"event": "Viewed", "within_days": 5}, {"event": "Bought"}]},
]


def events(rng: random.Random, customers: list[uuid.UUID], now: datetime) -> list[tuple]:
    return [
        (uuid.uuid4().hex, c, rng.choice(("Viewed", "Bought")), now - timedelta(hours=h))
        for c in customers
        for h in (rng.uniform(0, 24 * 8) for _ in range(rng.randrange(6)))
    ]


async def test_a_sweep_after_a_day_leaves_each_segment_as_a_full_build_would(infra):
    await ensure_database(infra.server_dsn, "ecrm_campaigns_window_sweep")
    pool = await create_pool(infra.dsn("campaigns_window_sweep"), 1)
    rng = random.Random(23)
    customers = [uuid.uuid4() for _ in range(CUSTOMERS)]
    segments = [uuid.uuid4() for _ in RULES]
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO audience (customer_id, known, live) SELECT unnest($1::uuid[]), true, true",
                customers,
            )
            await conn.executemany(
                "INSERT INTO audience_events (source_id, customer_id, name, at) VALUES ($1, $2, $3, $4)",
                events(rng, customers, datetime.now(UTC)),
            )
            for segment, rule in zip(segments, RULES, strict=True):
                await conn.execute(
                    "INSERT INTO segments (id, name, rule) VALUES ($1, $2, $3)",
                    segment,
                    str(segment),
                    rule,
                )
                await membership.start_build(conn, segment)
            await builds.continue_builds(conn, chunk=64)  # five chunks each
            await conn.execute("UPDATE audience_events SET at = at - interval '1 day'")
            await conn.execute("UPDATE segments SET built_at = built_at - interval '1 day'")
            swept = []
            for segment in segments:
                async with conn.transaction():
                    swept.append(await membership.sweep(conn, segment))
            rules = await membership.all_rules(conn)
            now = datetime.now(UTC)
            for segment in segments:
                rule = inline(rules[str(segment)], rules)
                whole = set(await membership.matching_ids(conn, rule, now))
                assert await _members(conn, segment) == whole
                count = await conn.fetchval(
                    "SELECT member_count FROM segments WHERE id = $1", segment
                )
                assert count == len(whole)
    finally:
        await pool.close()
    assert sum(s["entered"] + s["left"] for s in swept) > 0  # the day moved some customers
    assert all(s["evaluated"] < CUSTOMERS for s in swept)  # and not everyone was read again


async def _members(conn, segment: uuid.UUID) -> set[uuid.UUID]:  # type: ignore[no-untyped-def]
    rows = await conn.fetch(
        "SELECT customer_id FROM segment_members WHERE segment_id = $1", segment
    )
    return {r[0] for r in rows}


async def test_a_sweep_that_fails_holds_up_no_other(infra):
    await ensure_database(infra.server_dsn, "ecrm_campaigns_sweep_fails")
    pool = await create_pool(infra.dsn("campaigns_sweep_fails"), 1)
    customer, broken, fine = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    rules = {  # a window no API would take: the sweep's times fall out of PostgreSQL's range
        broken: {"event": "Viewed", "within_days": 10**8},
        fine: {"event": "Viewed", "within_days": 3},
    }
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO audience (customer_id, known, live) VALUES ($1, true, true)", customer
            )
            await conn.execute(
                "INSERT INTO audience_events (source_id, customer_id, name, at)"
                " VALUES ('e1', $1, 'Viewed', now() - interval '4 days')",
                customer,
            )
            for segment in rules:  # the broken one first (read back in this order)
                await conn.execute(
                    "INSERT INTO segments (id, name, rule, built_at, member_count)"
                    " VALUES ($1, 's', $2, now() - interval '2 days', 1)",
                    segment,
                    rules[segment],
                )
            await conn.execute(
                "INSERT INTO segment_members (segment_id, customer_id) SELECT $1, $2",
                fine,
                customer,
            )  # left over from a build 2 days ago, when the event was in the window
        assert await scheduler.sweep_time_windows(SimpleNamespace(db=pool)) == 2
        async with pool.acquire() as conn:
            assert await _members(conn, fine) == set()  # swept after the broken one failed
    finally:
        await pool.close()
