"""A customer's touches are counted per channel as the timeline changes, so a refresh of the
figures costs the same for a customer with a long history as for a new one (migration 0010). On
a database of the interactions schema, driving the store's own functions."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

import services.interactions
from services.interactions.store import identities, metrics, timeline
from services.interactions.timeline_domain import DERIVED_TYPES, UNCOUNTED_CHANNEL, Entry
from shared.db import create_pool, ensure_database, migrate

MIGRATIONS = Path(services.interactions.__file__).parent / "migrations"
START = datetime(2026, 1, 1, tzinfo=UTC)

# The figures as they were computed before migration 0010: from the whole timeline.
_COUNTED = f"""
SELECT channel, count(*) AS n, min(occurred_at) AS first_seen, max(occurred_at) AS last_seen
FROM timeline WHERE customer_id = $1 AND channel <> '{UNCOUNTED_CHANNEL}'
  AND type <> ALL($2::text[])
GROUP BY channel
"""


@pytest.fixture
async def pool(infra) -> AsyncIterator[asyncpg.Pool]:
    name = f"touch_{uuid.uuid4().hex[:8]}"
    await ensure_database(infra.server_dsn, f"ecrm_{name}")
    pool = await create_pool(infra.dsn(name), 4)
    try:
        yield pool
    finally:
        await pool.close()


def entry(customer: uuid.UUID | None, channel: str = "web", minutes: int = 0, **kw) -> Entry:
    return Entry(
        ref=f"test:{uuid.uuid4()}",
        channel=channel,
        type=kw.pop("type", "Test"),
        summary="a touch",
        source="test",
        occurred_at=START + timedelta(minutes=minutes),
        customer_id=str(customer) if customer else None,
        **kw,
    )


async def refreshed(pool: asyncpg.Pool, *customers: uuid.UUID) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await metrics.refresh(conn, set(customers))


async def figures_and_count(pool: asyncpg.Pool, customer: uuid.UUID) -> tuple[dict, dict]:
    """The customer's stored figures, and the same figures counted from the timeline."""
    async with pool.acquire() as conn:
        kept = await metrics.get(conn, customer)
        rows = await conn.fetch(_COUNTED, customer, list(DERIVED_TYPES))
    counted = {
        "touches": {r["channel"]: r["n"] for r in rows},
        "first_seen": min((r["first_seen"] for r in rows), default=None),
        "last_seen": max((r["last_seen"] for r in rows), default=None),
    }
    return {k: kept[k] for k in counted}, counted


async def add(pool: asyncpg.Pool, entries: list[Entry]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await timeline.add(conn, entries)


async def test_figures_equal_the_timeline_counted_through_every_kind_of_change(pool):
    await migrate(pool, MIGRATIONS)
    ann, bob, cy = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await add(pool, [entry(ann, "web", 5), entry(ann, "email", 1), entry(ann, "web", 9)])
    await add(pool, [entry(ann, UNCOUNTED_CHANNEL, 0), entry(ann, "web", 0, type=DERIVED_TYPES[0])])
    await add(pool, [entry(bob, "store", 20), entry(bob, "web", -3), entry(cy, "web", 2)])
    await refreshed(pool, ann, bob, cy)
    kept, counted = await figures_and_count(pool, ann)
    assert kept == counted and kept["touches"] == {"web": 2, "email": 1}

    # a visitor's entries attributed later, then a merge of bob into ann
    visitor = [entry(None, "web", 30, anonymous_id="v-1"), entry(None, "mobile", 31)]
    await add(pool, visitor)
    async with pool.acquire() as conn, conn.transaction():
        await timeline.attach_refs(conn, [(e.ref, ann) for e in visitor])
        await timeline.fold(conn, bob, ann)
    await refreshed(pool, ann)
    kept, counted = await figures_and_count(pool, ann)
    assert kept == counted
    assert kept["touches"] == {"web": 4, "email": 1, "store": 1, "mobile": 1}
    assert kept["first_seen"] == START - timedelta(minutes=3)

    # a deleted customer's entries and counts go; the others' figures are untouched
    async with pool.acquire() as conn, conn.transaction():
        await timeline.forget(conn, cy)
    await refreshed(pool, ann, cy)
    async with pool.acquire() as conn:
        left = await conn.fetchval(
            "SELECT (SELECT count(*) FROM touch_counts WHERE customer_id = ANY($1::uuid[]))"
            " + (SELECT count(*) FROM touch_deltas WHERE customer_id = ANY($1::uuid[]))",
            [cy, bob],
        )
    assert left == 0
    assert (await figures_and_count(pool, ann))[0]["touches"]["web"] == 4


async def test_a_refresh_adds_the_new_touches_to_the_counts_without_reading_the_timeline(pool):
    await migrate(pool, MIGRATIONS)
    ann = uuid.uuid4()
    await add(pool, [entry(ann, "web", i) for i in range(3)])
    await refreshed(pool, ann)
    async with pool.acquire() as conn:  # entries written behind the counts' back
        await conn.execute("ALTER TABLE timeline DISABLE TRIGGER USER")
        await timeline.add(conn, [entry(ann, "web", 100 + i) for i in range(50)])
        await conn.execute("ALTER TABLE timeline ENABLE TRIGGER USER")
    await add(pool, [entry(ann, "web", 10)])
    await refreshed(pool, ann)
    kept, _ = await figures_and_count(pool, ann)
    assert kept["touches"] == {"web": 4}  # 3 + 1: the 50 hidden entries were not counted
    async with pool.acquire() as conn, conn.transaction():  # an entry goes: counted again
        await conn.execute("DELETE FROM timeline WHERE customer_id = $1 AND ref = (SELECT"
                           " min(ref) FROM timeline WHERE customer_id = $1)", ann)  # fmt: skip
    await refreshed(pool, ann)
    kept, counted = await figures_and_count(pool, ann)
    assert kept == counted and kept["touches"] == {"web": 53}


async def test_customers_known_before_the_counts_are_counted_at_their_next_refresh(pool, tmp_path):
    before = tmp_path / "before"
    before.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name < "0010":
            shutil.copy(path, before)
    await migrate(pool, before)
    ann = uuid.uuid4()
    await add(pool, [entry(ann, "web", 1), entry(ann, "email", 2)])
    await migrate(pool, MIGRATIONS)  # 0010 now
    await add(pool, [entry(ann, "web", 3)])
    await refreshed(pool, ann)
    kept, counted = await figures_and_count(pool, ann)
    assert kept == counted and kept["touches"] == {"web": 2, "email": 1}


async def test_an_entry_without_its_customer_goes_to_the_linked_one(pool):
    """The customer of an entry that names none comes from its user id, else its visitor id,
    as linked, through a merge; an entry nobody is linked to stays nobody's."""
    await migrate(pool, MIGRATIONS)
    by_user, by_visitor, survivor, merged = (uuid.uuid4() for _ in range(4))
    async with pool.acquire() as conn:
        await identities.link(
            conn,
            [
                ("user_id", "u-1", by_user),
                ("anonymous_id", "a-1", by_visitor),
                ("anonymous_id", "a-2", merged),
            ],
        )
        await conn.execute(
            "INSERT INTO merged_customers (merged_id, survivor_id) VALUES ($1, $2)",
            merged,
            survivor,
        )
        given = uuid.uuid4()
        added = [
            entry(None, user_id="u-1", anonymous_id="a-1"),  # the user id first
            entry(None, anonymous_id="a-1"),
            entry(None, anonymous_id="a-2"),
            entry(None, anonymous_id="a-3"),
            entry(given, anonymous_id="a-1"),  # a customer given is kept
        ]
        await timeline.add(conn, added)
        owners = dict(await conn.fetch("SELECT ref, customer_id FROM timeline"))
    assert [owners[e.ref] for e in added] == [by_user, by_visitor, survivor, None, given]


async def test_entries_added_by_a_request_mark_the_figures_of_their_customers_due(pool):
    """What `add` returns, `add_marking` marks due in the same statement: each customer with a
    new touch once; an edit of the record, a derived entry, an entry of nobody and an entry seen
    before mark nothing."""
    await migrate(pool, MIGRATIONS)
    toucher, editor = uuid.uuid4(), uuid.uuid4()
    seen = entry(toucher)
    async with pool.acquire() as conn:
        await timeline.add(conn, [seen])
        await conn.execute("DELETE FROM metrics_pending")
        async with conn.transaction():
            await timeline.add_marking(
                conn,
                [
                    seen,
                    entry(toucher, "email"),
                    entry(toucher, "store"),
                    entry(editor, UNCOUNTED_CHANNEL),
                    entry(editor, type=next(iter(DERIVED_TYPES))),
                    entry(None),
                ],
            )
            due = await conn.fetch("SELECT customer_id FROM metrics_pending")
        kept = await conn.fetchval("SELECT count(*) FROM timeline")
    assert [r["customer_id"] for r in due] == [toucher] and kept == 6
