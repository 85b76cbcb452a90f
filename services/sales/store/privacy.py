"""Sales' part of the privacy lifecycle.

Erasure: the projection loses the address, the person's deals keep their amounts and stages (for
the pipeline figures) but lose their names, lost reasons and activity notes; the score history,
the running score and the qualification (profiling) go. Export: all of it. Unmerge: the score
entries the merge moved go back to the restored customer.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.sales.store import scoring
from shared.privacy import (
    ERASED,
    cap_section,
    email_hash,
    jsonable,
    remember_erased,
    remember_moves,
    scrub_outbox,
    take_moves,
)

EXPORT_ROWS = 5000


async def erase(
    conn: asyncpg.Connection, customer_id: str, ids: list[uuid.UUID], hashes: list[str]
) -> None:
    found = await conn.fetch(
        "SELECT email FROM customers WHERE id = ANY($1::uuid[]) AND email IS NOT NULL", ids
    )
    emails = {r["email"] for r in found}
    deals = [r["id"] for r in await conn.fetch(
        "SELECT id FROM deals WHERE customer_id = ANY($1::uuid[])", ids
    )]  # fmt: skip
    await conn.execute(
        "INSERT INTO customers (id, deleted_at) SELECT unnest($1::uuid[]), now()"
        " ON CONFLICT (id) DO UPDATE SET email = NULL, domain = NULL,"
        " deleted_at = COALESCE(customers.deleted_at, now()), updated_at = now()",
        ids,
    )
    await conn.execute(
        "UPDATE deals SET name = $2, lost_reason = CASE WHEN lost_reason IS NULL THEN NULL"
        " ELSE $2 END, version = version + 1, updated_at = now() WHERE id = ANY($1::uuid[])",
        deals,
        ERASED,
    )
    await conn.execute(
        "UPDATE deal_activities SET subject = $2, body = NULL WHERE deal_id = ANY($1::uuid[])",
        deals,
        ERASED,
    )
    for table in ("score_history", "lead_scores", "lead_qualifications"):
        await conn.execute(f"DELETE FROM {table} WHERE customer_id = ANY($1::uuid[])", ids)
    await conn.execute(
        "DELETE FROM merge_moves WHERE merged_id = ANY($1::uuid[]) OR survivor_id = ANY($1)", ids
    )
    known = {email_hash(e) for e in emails}
    await remember_erased(conn, customer_id, [str(i) for i in ids], {*hashes, *known})
    await scrub_outbox(conn, {str(i) for i in ids} | emails | {str(d) for d in deals})


async def section(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> dict[str, Any]:
    customers = await conn.fetch(
        "SELECT id, email, domain, account_id, merged_into, deleted_at FROM customers"
        " WHERE id = ANY($1::uuid[])",
        ids,
    )
    deals = await conn.fetch(
        "SELECT id, pipeline_id, name, customer_id, account_id, amount, currency, stage,"
        " stage_entered_at, expected_close, owner, lost_reason, closed_at, created_at"
        " FROM deals WHERE customer_id = ANY($1::uuid[]) ORDER BY created_at",
        ids,
    )
    deal_ids = [d["id"] for d in deals]
    stages = await conn.fetch(
        "SELECT deal_id, from_stage, to_stage, at FROM deal_stage_history"
        " WHERE deal_id = ANY($1::uuid[]) ORDER BY id",
        deal_ids,
    )
    activities = await conn.fetch(
        "SELECT id, deal_id, kind, subject, body, due_at, done_at, created_at"
        " FROM deal_activities WHERE deal_id = ANY($1::uuid[]) ORDER BY created_at",
        deal_ids,
    )
    history = await conn.fetch(
        "SELECT customer_id, event_id, kind, label, points, decay_per_day, occurred_at"
        " FROM score_history WHERE customer_id = ANY($1::uuid[])"
        " ORDER BY occurred_at DESC LIMIT $2",
        ids,
        EXPORT_ROWS,
    )
    scores = await scoring.scores_of(conn, ids, datetime.now(UTC))
    qualified = await conn.fetch(
        "SELECT customer_id, score, threshold, qualified_at FROM lead_qualifications"
        " WHERE customer_id = ANY($1::uuid[])",
        ids,
    )
    return cap_section({
        "customers": jsonable(customers),
        "deals": jsonable(deals),
        "deal_stages": jsonable(stages),
        "activities": jsonable(activities),
        "lead_scores": {str(k): v for k, v in scores.items()},
        "qualifications": jsonable(qualified),
        "score_history": jsonable(history),
    })  # fmt: skip


async def remember_merge(conn: asyncpg.Connection, merged: uuid.UUID, survivor: uuid.UUID) -> None:
    """Call before the merge is folded: the merged customer's score entries and chain."""
    events = await conn.fetch(
        "SELECT event_id::text FROM score_history WHERE customer_id = $1", merged
    )
    await remember_moves(conn, merged, survivor, "score", [r[0] for r in events])
    chain = await conn.fetch(
        "SELECT merged_id::text FROM merged_customers WHERE survivor_id = $1", merged
    )
    await remember_moves(conn, merged, survivor, "chain", [r[0] for r in chain])


async def unmerge(conn: asyncpg.Connection, survivor: uuid.UUID, restored: uuid.UUID) -> None:
    await conn.execute("DELETE FROM merged_customers WHERE merged_id = $1", restored)
    chain = await take_moves(conn, restored, survivor, "chain")
    await conn.execute(
        "UPDATE merged_customers SET survivor_id = $2 WHERE merged_id = ANY($3::uuid[])"
        " AND survivor_id = $1",
        survivor, restored, chain,
    )  # fmt: skip
    await conn.execute(
        "UPDATE customers SET merged_into = NULL, updated_at = now() WHERE id = $1", restored
    )
    events = await take_moves(conn, restored, survivor, "score")
    await conn.execute(
        "WITH moved AS (DELETE FROM score_history WHERE customer_id = $1"
        "   AND event_id = ANY($3::uuid[]) RETURNING *)"
        " INSERT INTO score_history (customer_id, event_id, rule_id, kind, label, points,"
        "   decay_per_day, occurred_at, fades_out_at, recorded_at)"
        " SELECT $2, event_id, rule_id, kind, label, points, decay_per_day, occurred_at,"
        "   fades_out_at, recorded_at FROM moved ON CONFLICT (customer_id, event_id) DO NOTHING",
        survivor, restored, events,
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO lead_scores (customer_id, steady_score)"
        " SELECT c, COALESCE((SELECT sum(points) FROM score_history h"
        "   WHERE h.customer_id = c AND h.decay_per_day IS NULL), 0)"
        " FROM unnest($1::uuid[]) AS c"
        " ON CONFLICT (customer_id) DO UPDATE"
        "   SET steady_score = EXCLUDED.steady_score, updated_at = now()",
        [survivor, restored],
    )
    await scoring.qualify(conn, [restored], datetime.now(UTC))
