"""Scores kept current from the stream: history rows (one per customer and event), the
running sum of non-decaying points, and the once-per-customer qualification."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime

import asyncpg

from services.sales.domain.scoring import Signal, fades_out_at, qualifies, rule_for
from services.sales.store import rules as rules_store
from shared import outbox
from shared.events.sales import LeadQualified

_INSERT_HISTORY = """
INSERT INTO score_history (customer_id, event_id, rule_id, kind, label, points, decay_per_day,
                           occurred_at, fades_out_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int[],
                     $7::float8[], $8::timestamptz[], $9::timestamptz[])
ON CONFLICT (customer_id, event_id) DO NOTHING
RETURNING customer_id, points, decay_per_day
"""

_ADD_STEADY = """
INSERT INTO lead_scores (customer_id, steady_score)
SELECT * FROM unnest($1::uuid[], $2::bigint[])
ON CONFLICT (customer_id) DO UPDATE
   SET steady_score = lead_scores.steady_score + EXCLUDED.steady_score, updated_at = now()
"""

# steady sum + what the decaying entries are still worth at $2 (linear, towards zero)
_SCORES = """
SELECT s.customer_id,
       s.steady_score + COALESCE((
           SELECT sum(sign(h.points) * greatest(0, abs(h.points) - h.decay_per_day
                      * greatest(0, extract(epoch FROM ($2 - h.occurred_at)) / 86400.0)))
             FROM score_history h
            WHERE h.customer_id = s.customer_id AND h.decay_per_day IS NOT NULL
              AND h.fades_out_at > $2), 0) AS score
  FROM lead_scores s
 WHERE s.customer_id = ANY($1::uuid[])
"""


async def record_signals(
    conn: asyncpg.Connection, signals: list[Signal], now: datetime | None = None
) -> list[uuid.UUID]:
    """Score each signal once (by customer and event id); returns the customers qualified now."""
    now = now or datetime.now(UTC)
    rules = await rules_store.live_rules(conn)
    scored = [(s, rule) for s in signals if (rule := rule_for(rules, s)) is not None]
    if not scored:  # no rule for any of them (or no rules at all)
        return []
    survivors = await survivors_of(conn, {uuid.UUID(s.customer_id) for s, _ in scored})
    rows = []
    for signal, rule in scored:
        customer = survivors[uuid.UUID(signal.customer_id)]
        rows.append(
            (
                customer,
                uuid.UUID(signal.event_id),
                uuid.UUID(rule.id),
                rule.kind,
                signal.label,
                rule.points,
                rule.decay_per_day,
                signal.occurred_at,
                fades_out_at(rule.points, rule.decay_per_day, signal.occurred_at),
            )
        )
    inserted = await conn.fetch(_INSERT_HISTORY, *(list(col) for col in zip(*rows, strict=True)))
    steady: dict[uuid.UUID, int] = defaultdict(int)
    for row in inserted:
        steady[row["customer_id"]] += row["points"] if row["decay_per_day"] is None else 0
    if not steady:
        return []
    await conn.execute(_ADD_STEADY, list(steady), list(steady.values()))
    return await qualify(conn, list(steady), now)


async def survivors_of(
    conn: asyncpg.Connection, customer_ids: set[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """Each id -> the customer its points count for (the survivor of a merge, else itself)."""
    found = await conn.fetch(
        "SELECT merged_id, survivor_id FROM merged_customers WHERE merged_id = ANY($1::uuid[])",
        list(customer_ids),
    )
    survivors = {r["merged_id"]: r["survivor_id"] for r in found}
    return {cid: survivors.get(cid, cid) for cid in customer_ids}


async def scores_of(
    conn: asyncpg.Connection, customer_ids: list[uuid.UUID], now: datetime
) -> dict[uuid.UUID, float]:
    rows = await conn.fetch(_SCORES, customer_ids, now)
    return {r["customer_id"]: round(float(r["score"]), 2) for r in rows}


async def qualify(
    conn: asyncpg.Connection, customer_ids: list[uuid.UUID], now: datetime
) -> list[uuid.UUID]:
    """Qualify those at or over the threshold; a customer qualifies once, ever."""
    threshold = await rules_store.threshold(conn)
    scores = await scores_of(conn, customer_ids, now)
    ready = [(cid, score) for cid, score in scores.items() if qualifies(score, threshold)]
    if not ready:
        return []
    qualified = await conn.fetch(
        "INSERT INTO lead_qualifications (customer_id, score, threshold, qualified_at)"
        " SELECT c, s, $3, $4 FROM unnest($1::uuid[], $2::float8[]) AS t(c, s)"
        " ON CONFLICT (customer_id) DO NOTHING RETURNING customer_id, score",
        [c for c, _ in ready],
        [s for _, s in ready],
        threshold,
        now,
    )
    await outbox.add_many(
        conn,
        [
            LeadQualified(
                customer_id=str(r["customer_id"]), score=r["score"], threshold=threshold, at=now
            )
            for r in qualified
        ],
    )
    return [r["customer_id"] for r in qualified]


async def qualify_everyone(conn: asyncpg.Connection, now: datetime) -> list[uuid.UUID]:
    """After the threshold changed: everyone not yet qualified who now is."""
    pending = await conn.fetch(
        "SELECT s.customer_id FROM lead_scores s WHERE NOT EXISTS"
        " (SELECT 1 FROM lead_qualifications q WHERE q.customer_id = s.customer_id)"
    )
    return await qualify(conn, [r["customer_id"] for r in pending], now)


async def merge(
    conn: asyncpg.Connection, survivor: uuid.UUID, merged: uuid.UUID, now: datetime | None = None
) -> None:
    """Fold the merged customer's history into the survivor's; later events follow."""
    await conn.execute(
        "INSERT INTO merged_customers (merged_id, survivor_id) VALUES ($1, $2)"
        " ON CONFLICT (merged_id) DO UPDATE SET survivor_id = $2, at = now()",
        merged,
        survivor,
    )
    await conn.execute(  # chains: whatever pointed at the merged customer now points further
        "UPDATE merged_customers SET survivor_id = $1 WHERE survivor_id = $2", survivor, merged
    )
    await conn.execute(
        "WITH moved AS (DELETE FROM score_history WHERE customer_id = $2 RETURNING *)"
        " INSERT INTO score_history (customer_id, event_id, rule_id, kind, label, points,"
        "   decay_per_day, occurred_at, fades_out_at, recorded_at)"
        " SELECT $1, event_id, rule_id, kind, label, points, decay_per_day, occurred_at,"
        "   fades_out_at, recorded_at FROM moved ON CONFLICT (customer_id, event_id) DO NOTHING",
        survivor,
        merged,
    )
    await conn.execute("DELETE FROM lead_scores WHERE customer_id = $1", merged)
    await conn.execute(
        "INSERT INTO lead_scores (customer_id, steady_score)"
        " SELECT $1, COALESCE(sum(points), 0) FROM score_history"
        "  WHERE customer_id = $1 AND decay_per_day IS NULL"
        " ON CONFLICT (customer_id) DO UPDATE"
        "   SET steady_score = EXCLUDED.steady_score, updated_at = now()",
        survivor,
    )
    await qualify(conn, [survivor], now or datetime.now(UTC))
