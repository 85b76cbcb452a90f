"""Every timeline entry (a known customer's call, an order, a customer's record event) is
written by one statement that reads merged and deleted customers. Those tables grow with every
merge and deletion, and the statement's entries come from json_to_recordset, which PostgreSQL
assumes holds 100 rows: as a join and an anti-join, both tables were hashed whole for each
statement, 2.4 ms of CPU for one entry with 10,000 of each. Each entry must read them by key
(generic plans, as asyncpg's prepared statements end up with)."""

from __future__ import annotations

import json
import uuid

from services.interactions.store import timeline
from shared.db import create_pool, ensure_database, migrate
from tests.services.interactions.test_metrics_race import MIGRATIONS

FILL = """
TRUNCATE merged_customers, deleted_customers;
INSERT INTO merged_customers (merged_id, survivor_id)
SELECT gen_random_uuid(), gen_random_uuid() FROM generate_series(1, 10000);
INSERT INTO deleted_customers (customer_id) SELECT gen_random_uuid() FROM generate_series(1, 10000);
ANALYZE merged_customers, deleted_customers;
"""


def an_entry() -> dict:
    return {
        "id": str(uuid.uuid4()),
        "ref": f"order:{uuid.uuid4()}",
        "customer_id": str(uuid.uuid4()),
        "channel": "store",
        "type": "OrderPlaced",
        "summary": "Order 1",
        "source": "interactions",
        "occurred_at": "2026-01-01T00:00:00Z",
        "data": {},
    }


async def test_entries_read_merged_and_deleted_customers_by_key(infra):
    await ensure_database(infra.server_dsn, "ecrm_timeline_plans")
    pool = await create_pool(infra.dsn("timeline_plans"), 1)
    try:
        await migrate(pool, MIGRATIONS)
        await pool.execute(FILL)
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            await conn.execute(f"PREPARE adding (text) AS {timeline._INSERT}")
            document = json.dumps([an_entry()]).replace("'", "''")
            rows = await conn.fetch(f"EXPLAIN EXECUTE adding('{document}')")
            await conn.execute("DEALLOCATE adding")
    finally:
        await pool.close()
    plan = "\n".join(r[0] for r in rows)
    for table in ("merged_customers", "deleted_customers"):
        assert f"Seq Scan on {table}" not in plan, plan
        assert f"on {table}" in plan, plan  # read, by an index
