"""The raw calls' indexes hold no entry for a NULL: a visitor's call (no customer, no user id)
adds none to the customer and user-id indexes, and the lookups that name a value still use them
(generic plans, as asyncpg's prepared statements end up with)."""

from __future__ import annotations

import uuid

from services.interactions.store import interactions
from shared.db import create_pool, ensure_database, migrate
from tests.services.interactions.test_attribution_race import page_view
from tests.services.interactions.test_metrics_race import MIGRATIONS

EMPTY_BTREE = 8192  # the metapage alone: no entry was ever inserted
LOOKUPS = {
    "interactions_customer": "SELECT id FROM interactions WHERE customer_id = $1::uuid",
    "interactions_pending_user": "SELECT id FROM interactions"
    " WHERE customer_id IS NULL AND user_id = $1::text LIMIT 1000",
}


async def test_visitors_calls_add_no_entries_and_lookups_use_the_indexes(infra):
    await ensure_database(infra.server_dsn, "ecrm_raw_indexes")
    pool = await create_pool(infra.dsn("raw_indexes"), 2)
    calls = [page_view(f"anon-{uuid.uuid4().hex[:8]}") for _ in range(500)]
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await conn.execute("TRUNCATE interactions")
            await conn.execute("REINDEX TABLE interactions")
            await interactions.insert_new(conn, calls, {})
            for index in LOOKUPS:
                size = await conn.fetchval("SELECT pg_relation_size($1::regclass)", index)
                assert size == EMPTY_BTREE, index
            await conn.execute("ANALYZE interactions")
            await conn.execute("SET plan_cache_mode = force_generic_plan")
            for index, lookup in LOOKUPS.items():
                await conn.execute(f"PREPARE lookup AS {lookup}")
                plan = await conn.fetch(f"EXPLAIN EXECUTE lookup({_arg(index)})")
                await conn.execute("DEALLOCATE lookup")
                assert index in "\n".join(r[0] for r in plan), index
    finally:
        await pool.close()


def _arg(index: str) -> str:
    return f"'{uuid.uuid4()}'" if index == "interactions_customer" else "'u-1'"
