"""An erasure holds the attribution lock, which every tracking request waits for: each of its
statements over the raw calls, the timeline and the orders must find the person's rows through
indexes that look up their values (a sequential scan of 13 months of calls held the whole
ingestion). `enable_seqscan = off` leaves a sequential scan only where no index serves; generic
plans are what asyncpg's prepared statements end up with."""

from __future__ import annotations

import uuid

import pytest

from services.interactions.store import privacy
from shared.db import create_pool, ensure_database, migrate
from tests.services.interactions.test_metrics_race import MIGRATIONS

VALUES = {  # literal arguments of EXECUTE, of each parameter type
    "uuid[]": f"ARRAY['{uuid.uuid4()}']::uuid[]",
    "text[]": "ARRAY['v-1', 'v-2']",
    "int": "10",
}
STATEMENTS = {
    "erase calls and entries": (
        privacy._ERASE_CALLS_AND_ENTRIES,
        ["uuid[]", "text[]", "text[]", "text[]"],
    ),
    "orders of the person": (privacy._ORDERS_OF_PERSON, ["uuid[]", "text[]", "text[]"]),
    "export of raw calls": (
        f"SELECT id FROM interactions WHERE {privacy._RAW_CALLS_OF_PERSON}"
        " ORDER BY occurred_at DESC LIMIT $4",
        ["uuid[]", "text[]", "text[]", "int"],
    ),
}


# Tables of some size, half of the rows attributed, so that the planner weighs real choices.
FILL = """
TRUNCATE interactions, orders, timeline;
INSERT INTO interactions (id, message_id, kind, channel, anonymous_id, user_id, customer_id,
                          occurred_at, received_at)
SELECT gen_random_uuid(), 'm-' || g, 'page', 'web', 'anon-' || g % 5000,
       CASE WHEN g % 4 = 0 THEN 'user-' || g % 1000 END,
       CASE WHEN g % 2 = 0 THEN md5((g % 2000)::text)::uuid END, now(), now()
FROM generate_series(1, 20000) g;
INSERT INTO orders (id, store_id, order_id, customer_id, email, loyalty_id, channel, currency,
                    total, lines, placed_at, fingerprint)
SELECT gen_random_uuid(), 's', 'o-' || g, CASE WHEN g % 2 = 0 THEN md5((g % 2000)::text)::uuid END,
       'p' || g % 3000 || '@example.com', CASE WHEN g % 3 = 0 THEN 'l-' || g % 1000 END, 'web',
       'EUR', 1, '[]', now(), 'f'
FROM generate_series(1, 10000) g;
INSERT INTO timeline (id, ref, customer_id, channel, type, summary, source, occurred_at)
SELECT gen_random_uuid(), 'interaction:' || g, md5((g % 2000)::text)::uuid, 'web', 'page', 's',
       'interactions', now()
FROM generate_series(1, 10000) g;
ANALYZE interactions, orders, timeline;
"""


@pytest.mark.parametrize("name", STATEMENTS)
async def test_the_statement_reads_only_the_persons_rows(infra, name):
    await ensure_database(infra.server_dsn, "ecrm_erasure_plans")
    pool = await create_pool(infra.dsn("erasure_plans"), 1)
    statement, types = STATEMENTS[name]
    try:
        await migrate(pool, MIGRATIONS)
        await pool.execute(FILL)
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL enable_seqscan = off")
            await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            await conn.execute(f"PREPARE erasing ({', '.join(types)}) AS {statement}")
            values = ", ".join(VALUES[t] for t in types)
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE erasing({values})"))
            await conn.execute("DEALLOCATE erasing")
    finally:
        await pool.close()
    assert "Seq Scan" not in plan, plan
    assert _unbounded_index_scans(plan) == [], plan


def _unbounded_index_scans(plan: str) -> list[str]:
    """Index scans that look up no value: a whole (partial) index read, as a scan of the table's
    attributed rows is (`customer_id IS NOT NULL` alone)."""
    lines = [line.strip() for line in plan.splitlines()]
    return [
        line
        for line, after in zip(lines, [*lines[1:], ""], strict=True)
        if "Index Scan" in line and not (after.startswith("Index Cond:") and "= ANY" in after)
    ]
