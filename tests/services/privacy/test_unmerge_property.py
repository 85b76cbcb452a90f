"""Merge then unmerge restores both timelines exactly, on random small histories (the
interactions store on the real PostgreSQL; each example is rolled back).

A history per customer: visitor ids with their touches, and touches addressed to the customer
directly (tickets, mails, deals). After the merge, more touches arrive for visitor ids of either
customer; after the unmerge each customer has exactly its own history plus the late touches of
its own visitor ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.interactions.store import identities, timeline
from services.interactions.store import privacy as store
from services.interactions.timeline_domain import Entry

T0 = datetime(2026, 1, 1, tzinfo=UTC)

# per customer: touches per visitor id, and direct touches
histories = st.tuples(st.lists(st.integers(0, 3), max_size=3), st.integers(0, 3))
# after the merge: (customer 0 or 1, visitor index) of each late touch
late_touches = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 2)), max_size=4)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=histories, second=histories, late=late_touches)
async def test_merge_then_unmerge_restores_both_timelines(stack, first, second, late):
    conn = await asyncpg.connect(stack.infra.dsn("interactions"))
    await conn.set_type_codec(
        "jsonb", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads,
        schema="pg_catalog",
    )  # fmt: skip
    tx = conn.transaction()
    await tx.start()
    try:
        await _check(conn, [first, second], late)
    finally:
        await tx.rollback()
        await conn.close()


async def _check(conn: asyncpg.Connection, specs: list, late: list) -> None:
    survivor, merged = uuid.uuid4(), uuid.uuid4()
    customers = [survivor, merged]
    visitors: list[list[str]] = [[], []]
    for index, (per_visitor, direct) in enumerate(specs):
        visitors[index] = [f"anon-{uuid.uuid4().hex}" for _ in per_visitor]
        for visitor, count in zip(visitors[index], per_visitor, strict=True):
            await identities.link(conn, [("anonymous_id", visitor, customers[index])])
            await timeline.add(conn, [_touch(anonymous_id=visitor) for _ in range(count)])
        await timeline.add(conn, [_touch(customer=customers[index]) for _ in range(direct)])
    before = [await _refs(conn, c) for c in customers]

    await store.remember_merge(conn, merged, survivor)
    await timeline.fold(conn, merged, survivor)
    assert await _refs(conn, survivor) == before[0] | before[1]
    arrived: list[set[str]] = [set(), set()]
    for owner, pick in late:
        if visitors[owner]:
            touch = _touch(anonymous_id=visitors[owner][pick % len(visitors[owner])])
            await timeline.add(conn, [touch])
            arrived[owner].add(touch.ref)

    moved_back = [{"kind": "anonymous_id", "value": v} for v in visitors[1]]
    await store.unmerge(conn, survivor, merged, moved_back)
    assert await _refs(conn, survivor) == before[0] | arrived[0]
    assert await _refs(conn, merged) == before[1] | arrived[1]


def _touch(anonymous_id: str | None = None, customer: uuid.UUID | None = None) -> Entry:
    ref = f"test:{uuid.uuid4()}"
    return Entry(
        ref=ref, channel="web" if anonymous_id else "support", type="page", summary=ref,
        source="tests", occurred_at=T0 + timedelta(seconds=len(ref)),
        customer_id=str(customer) if customer else None, anonymous_id=anonymous_id,
    )  # fmt: skip


async def _refs(conn: asyncpg.Connection, customer: uuid.UUID) -> set[str]:
    rows = await conn.fetch("SELECT ref FROM timeline WHERE customer_id = $1", customer)
    return {r["ref"] for r in rows}
