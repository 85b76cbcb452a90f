"""Customers re-evaluated together (on a database of the campaigns schema, with no service
running): memberships, segments' counts and SegmentMembershipChanged are what re-evaluating
them one by one gives, the events in the customers' order, each customer's in segment order."""

from __future__ import annotations

import json
import uuid

from services.campaigns.store import membership
from shared.db import create_pool, ensure_database, init_connection, migrate
from tests.services.campaigns.test_track_batches import MIGRATIONS


async def test_a_wave_enters_and_leaves_as_one_by_one_would(infra):
    await ensure_database(infra.server_dsn, "ecrm_campaigns_reevaluation")
    pool = await create_pool(infra.dsn("campaigns_reevaluation"), 1)
    vip, gold = sorted([uuid.uuid4(), uuid.uuid4()])  # segments, in the order changes announce
    people = [uuid.uuid4() for _ in range(4)]
    tags = [["vip"], ["vip", "gold"], [], ["vip"]]
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await init_connection(conn)
            for segment, tag in ((vip, "vip"), (gold, "gold")):
                await conn.execute(
                    "INSERT INTO segments (id, name, rule, member_count) VALUES ($1, $2, $3, 1)",
                    segment,
                    tag,
                    {"tag": tag},
                )
            for person, its_tags in zip(people, tags, strict=True):
                await conn.execute(
                    "INSERT INTO audience (customer_id, known, live, tags)"
                    " VALUES ($1, true, true, $2)",
                    person,
                    its_tags,
                )
            # people[2] was a member of both, and has lost its tags; people[3] already is a vip
            await conn.execute(
                "INSERT INTO segment_members (segment_id, customer_id)"
                " VALUES ($1, $3), ($2, $3), ($1, $4)",
                vip,
                gold,
                people[2],
                people[3],
            )
            await conn.execute("UPDATE segments SET member_count = 2 WHERE id = $1", vip)
            first = await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
            async with conn.transaction():
                await membership.reevaluate(conn, [str(p) for p in people])
            members = await conn.fetch("SELECT segment_id, customer_id FROM segment_members")
            counts = await conn.fetch("SELECT id, member_count FROM segments")
            announced = await conn.fetch(
                "SELECT data::text AS data FROM outbox WHERE id > $1 ORDER BY id", first
            )
    finally:
        await pool.close()
    assert {(r["segment_id"], r["customer_id"]) for r in members} == {
        (vip, people[0]),
        (vip, people[1]),
        (gold, people[1]),
        (vip, people[3]),
    }
    assert {r["id"]: r["member_count"] for r in counts} == {vip: 3, gold: 1}
    changes = [json.loads(r["data"]) for r in announced]
    assert [(c["customer_id"], c["segment_id"], c["change"]) for c in changes] == [
        (str(people[0]), str(vip), "entered"),
        (str(people[1]), str(vip), "entered"),
        (str(people[1]), str(gold), "entered"),
        (str(people[2]), str(vip), "left"),
        (str(people[2]), str(gold), "left"),
    ]
