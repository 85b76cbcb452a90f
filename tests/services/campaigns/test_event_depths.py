"""A customer's events are loaded for evaluation only as deep as the rules ask: the newest
`min_count` of each name decide every condition on it, so a long history costs no more than a
short one, and the decisions are those the whole history gives. Many customers' profiles load
together as each would alone (on a database of the campaigns schema, with no service
running)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from services.campaigns.rules.evaluate import matches
from services.campaigns.rules.parse import event_depths, merged_depths
from services.campaigns.store import audience
from shared.db import create_pool, ensure_database, migrate
from tests.services.campaigns.test_track_batches import MIGRATIONS

RULES = [
    {"event": "Viewed Cart", "within_days": 7, "min_count": 3},
    {"event": "Viewed Cart", "within_days": 30, "min_count": 12},
    {"event": "Viewed Cart", "min_count": 40},
    {"not": {"event": "Order Placed", "within_days": 2}},
    {"all": [{"event": "Order Placed", "min_count": 2}, {"event": "Viewed Cart"}]},
]


async def test_the_newest_events_decide_as_the_whole_history_does(infra):
    await ensure_database(infra.server_dsn, "ecrm_campaigns_event_depths")
    pool = await create_pool(infra.dsn("campaigns_event_depths"), 1)
    rng = random.Random(7)
    now = datetime.now(UTC)
    depths = merged_depths(event_depths(rule) for rule in RULES)
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            customers = []
            for _ in range(12):
                customer = uuid.uuid4()
                customers.append(customer)
                await conn.execute(
                    "INSERT INTO audience (customer_id, known, live) VALUES ($1, true, true)",
                    customer,
                )
                history = [
                    (name, now - timedelta(hours=rng.randint(0, 24 * 60)))
                    for name in ("Viewed Cart",) * rng.randint(0, 60)
                    + ("Order Placed",) * rng.randint(0, 4)
                    + ("Opened App",) * 5  # a name no rule reads
                ]
                await audience.record_events(
                    conn, [(uuid.uuid4().hex, str(customer), n, at) for n, at in history]
                )
                profile = await audience.load_profile(conn, customer, depths)
                whole = audience.profile_of(
                    await audience.fetch_row(conn, customer),
                    [(n, at) for n, at in history if n != "Opened App"],
                )
                assert profile is not None
                for name, depth in depths.items():
                    loaded = [at for n, at in profile.events if n == name]
                    assert len(loaded) == min(depth, sum(n == name for n, _ in history))
                for rule in RULES:
                    assert matches(rule, profile, now) == matches(rule, whole, now), rule
            placeholder = uuid.uuid4()  # a customer contacts has not described yet
            await audience.record_events(conn, [("p-1", str(placeholder), "Viewed Cart", now)])
            together = await audience.load_profiles(conn, [*customers, placeholder], depths)
            one_by_one = {c: await audience.load_profile(conn, c, depths) for c in customers}
    finally:
        await pool.close()
    assert placeholder not in together
    assert {c: (p.customer_id, sorted(p.events)) for c, p in together.items()} == {
        c: (p.customer_id, sorted(p.events)) for c, p in one_by_one.items() if p is not None
    }
