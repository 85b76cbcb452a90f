"""The sender claims due messages first come, first served, by (send_after, id). A launched
campaign's rows share one send_after, so an index on send_after alone gave each claim every
pending row to sort: ~0.5 ms of the server a claim at 2,000 recipients, growing with the list.
Each claim must read the first row of an index in that order."""

from __future__ import annotations

from datetime import UTC, datetime

from services.campaigns.store import messages
from shared.db import create_pool, ensure_database, migrate
from tests.services.campaigns.test_track_batches import MIGRATIONS

FILL = """
INSERT INTO messages (id, customer_id, send_after)
SELECT gen_random_uuid(), gen_random_uuid(), $1 FROM generate_series(1, 20000)
"""


async def test_a_claim_reads_the_first_due_row_without_sorting_the_rest(infra):
    await ensure_database(infra.server_dsn, "ecrm_campaigns_claim_order")
    pool = await create_pool(infra.dsn("campaigns_claim_order"), 1)
    try:
        await migrate(pool, MIGRATIONS)
        async with pool.acquire() as conn:
            await conn.execute("TRUNCATE messages CASCADE")
            launched = datetime(2026, 1, 1, tzinfo=UTC)
            await conn.execute(FILL, launched)
            await conn.execute("ANALYZE messages")
            first = await conn.fetch("SELECT id FROM messages ORDER BY send_after, id LIMIT 3")
            claimed = [(await messages.claim_next(conn))["id"] for _ in range(3)]
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {messages._CLAIM}"))
    finally:
        await pool.close()
    assert claimed == [r["id"] for r in first]
    assert "Sort" not in plan, plan
    assert "messages_due_in_order" in plan, plan
