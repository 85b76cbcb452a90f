"""A segment's full build runs a chunk of customers a transaction, and event handlers apply
between chunks. The build must end where a build in one piece would, with every change announced
once, and a launch to the segment must wait for it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.campaigns.store import audience, builds, campaigns, membership
from shared.db import create_pool, ensure_database, migrate
from tests.services.campaigns.test_track_batches import MIGRATIONS

CUSTOMERS, CHUNK = 40, 10
CHANGED = "ecrm.campaigns.SegmentMembershipChanged.v1"


async def test_a_build_in_chunks_with_events_between_them_ends_exact(infra):
    await ensure_database(infra.server_dsn, "ecrm_campaigns_build_chunks")
    pool = await create_pool(infra.dsn("campaigns_build_chunks"), 1)
    people = sorted(uuid.uuid4() for _ in range(CUSTOMERS))
    vip = set(people[::3])
    stale = people[1]  # a member from before the build that the rule no longer selects
    late, early = (
        people[25],
        people[3],
    )  # moved by events: one the build has not reached, one it has
    assert late not in vip and early in vip
    segment, campaign = uuid.uuid4(), uuid.uuid4()
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await _audience(conn, people, vip)
            await _segment(conn, segment, stale)
            await _launching_campaign(conn, campaign, segment)
            await membership.start_build(conn, segment)
            started = await conn.fetchval(
                "SELECT building_since FROM segments WHERE id = $1", segment
            )

            async with conn.transaction():
                assert not await builds.build_chunk(conn, segment, CHUNK)
            assert await _members(conn, segment) == vip & set(people[:CHUNK])
            assert await campaigns.materialise_launches(conn, 100) == 0  # waits for the build

            await _handle_events(conn, {late: ["vip"], early: []})
            assert await builds.continue_builds(conn, CHUNK) == 1

            whole = set(await membership.matching_ids(conn, {"tag": "vip"}, datetime.now(UTC)))
            assert whole == (vip - {early}) | {late}
            assert await _members(conn, segment) == whole
            row = await conn.fetchrow("SELECT * FROM segments WHERE id = $1", segment)
            assert row["member_count"] == len(whole)
            assert row["building_since"] is None and row["build_cursor"] is None
            assert row["built_at"] == started
            assert await _announced(conn) == {
                **{c: ["entered"] for c in vip - {early}},
                late: ["entered"],  # by its event; the build's chunk found it a member
                early: ["entered", "left"],
                stale: ["left"],
            }
            assert await campaigns.materialise_launches(conn, 100) == 1
    finally:
        await pool.close()


async def test_a_build_that_fails_holds_up_no_other(infra):
    await ensure_database(infra.server_dsn, "ecrm_campaigns_build_fails")
    pool = await create_pool(infra.dsn("campaigns_build_fails"), 1)
    people = sorted(uuid.uuid4() for _ in range(CHUNK + 3))
    broken, fine, campaign = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await _audience(conn, people, set(people))
            for segment, rule in ((broken, {"colour": "red"}), (fine, {"tag": "vip"})):
                await conn.execute(
                    "INSERT INTO segments (id, name, rule) VALUES ($1, 's', $2)", segment, rule
                )  # the broken rule as no API would take it: its build raises
                await membership.start_build(conn, segment)
            await _launching_campaign(conn, campaign, fine)

            assert await builds.continue_builds(conn, CHUNK) == 1
            assert await campaigns.materialise_launches(conn, 100) == 1
            assert await _members(conn, fine) == set(people)
            status = await conn.fetchval(
                "SELECT building_since IS NOT NULL FROM segments WHERE id = $1", broken
            )
            assert status  # still building: tried again at the next tick
    finally:
        await pool.close()


async def _audience(conn, people: list[uuid.UUID], vip: set[uuid.UUID]) -> None:  # type: ignore[no-untyped-def]
    await conn.executemany(
        "INSERT INTO audience (customer_id, known, live, tags) VALUES ($1, true, true, $2)",
        [(c, ["vip"] if c in vip else []) for c in people],
    )


async def _segment(conn, segment: uuid.UUID, stale: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    await conn.execute(
        "INSERT INTO segments (id, name, rule, member_count) VALUES ($1, 'vip', $2, 1)",
        segment,
        {"tag": "vip"},
    )
    await conn.execute(
        "INSERT INTO segment_members (segment_id, customer_id) VALUES ($1, $2)", segment, stale
    )


async def _launching_campaign(conn, campaign: uuid.UUID, segment: uuid.UUID) -> None:  # type: ignore[no-untyped-def]
    await conn.execute(
        "INSERT INTO campaigns (id, name, segment_id, subject, html, from_address, status,"
        " launched_at) VALUES ($1, 'c', $2, 's', 'h', 'f@example.com', 'launching', now())",
        campaign,
        segment,
    )


async def _handle_events(conn, tags: dict[uuid.UUID, list[str]]) -> None:  # type: ignore[no-untyped-def]
    """What campaigns' handlers do with customers' changes: under the lock a build excludes."""
    async with conn.transaction():
        await audience.lock_for_events(conn)
        for customer, customer_tags in tags.items():
            await conn.execute(
                "UPDATE audience SET tags = $2 WHERE customer_id = $1", customer, customer_tags
            )
        await membership.reevaluate(conn, [str(c) for c in tags])


async def _members(conn, segment: uuid.UUID) -> set[uuid.UUID]:  # type: ignore[no-untyped-def]
    rows = await conn.fetch(
        "SELECT customer_id FROM segment_members WHERE segment_id = $1", segment
    )
    return {r[0] for r in rows}


async def _announced(conn) -> dict[uuid.UUID, list[str]]:  # type: ignore[no-untyped-def]
    rows = await conn.fetch(
        "SELECT data ->> 'customer_id' AS customer, data ->> 'change' AS change"
        " FROM outbox WHERE ce_type = $1 ORDER BY id",
        CHANGED,
    )
    out: dict[uuid.UUID, list[str]] = {}
    for r in rows:
        out.setdefault(uuid.UUID(r["customer"]), []).append(r["change"])
    return out
