"""Customer metrics, recomputed for the customers a batch touched: their touches from the counts
kept per channel (`touch_counts`, migration 0010), their orders from the orders.

Only rows whose figures really changed come back, so only those are published.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from services.interactions.timeline_domain import DERIVED_TYPES, UNCOUNTED_CHANNEL

# Touches and first/last seen count what the customer did, not edits of their record nor what
# other services derive about them (`timeline_domain.is_touch`).
_DERIVED = ", ".join(f"'{t}'" for t in DERIVED_TYPES)
TOUCHES = f"channel <> '{UNCOUNTED_CHANNEL}' AND type NOT IN ({_DERIVED})"

# The customers' deltas, taken and folded into their counts in one snapshot: the timeline it
# counts again (for a customer marked) holds exactly the entries whose deltas it takes. Deltas
# of transactions still open stay for a later refresh, which their writers make due.
_FOLD = f"""
WITH taken AS (
    DELETE FROM touch_deltas WHERE customer_id = ANY($1::uuid[])
    RETURNING customer_id, channel, type, n, first_seen, last_seen
), recount AS (
    SELECT DISTINCT customer_id FROM taken WHERE channel IS NULL
), counted AS (
    SELECT customer_id, channel, count(*) AS n, min(occurred_at) AS first_seen,
           max(occurred_at) AS last_seen
    FROM timeline WHERE customer_id IN (SELECT customer_id FROM recount) AND {TOUCHES}
    GROUP BY customer_id, channel
), added AS (
    SELECT customer_id, channel, sum(n) AS n, min(first_seen) AS first_seen,
           max(last_seen) AS last_seen
    FROM taken
    WHERE channel IS NOT NULL AND {TOUCHES}
      AND customer_id NOT IN (SELECT customer_id FROM recount)
    GROUP BY customer_id, channel
), dropped AS (
    DELETE FROM touch_counts c USING recount r
    WHERE c.customer_id = r.customer_id AND NOT EXISTS (
        SELECT 1 FROM counted k WHERE k.customer_id = c.customer_id AND k.channel = c.channel)
), replaced AS (
    INSERT INTO touch_counts SELECT * FROM counted
    ON CONFLICT (customer_id, channel) DO UPDATE SET n = EXCLUDED.n,
        first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen
)
INSERT INTO touch_counts AS c SELECT * FROM added
ON CONFLICT (customer_id, channel) DO UPDATE SET n = c.n + EXCLUDED.n,
    first_seen = LEAST(c.first_seen, EXCLUDED.first_seen),
    last_seen = GREATEST(c.last_seen, EXCLUDED.last_seen)
"""

# Each customer's figures from its own rows (LATERAL: two index reads a customer). Aggregates
# joined by customer were planned, for an array the planner guesses holds one id, as a nested
# loop that aggregated every customer's orders once per customer: 232 ms for 477 customers.
_REFRESH = """
WITH ids AS (
    SELECT DISTINCT id AS customer_id FROM unnest($1::uuid[]) AS i(id)
    WHERE NOT EXISTS (SELECT 1 FROM deleted_customers d WHERE d.customer_id = i.id)
      AND NOT EXISTS (SELECT 1 FROM merged_customers m WHERE m.merged_id = i.id)
)
INSERT INTO customer_metrics AS cm (customer_id, first_seen, last_seen, touches, orders_count,
                                    total_spent, last_order_at)
SELECT ids.customer_id, seen.first_seen, seen.last_seen, COALESCE(seen.touches, '{}'::jsonb),
       bought.orders_count, COALESCE(bought.total_spent, 0), bought.last_order_at
FROM ids
CROSS JOIN LATERAL (
    SELECT min(c.first_seen) AS first_seen, max(c.last_seen) AS last_seen,
           jsonb_object_agg(c.channel, c.n) AS touches
    FROM touch_counts c WHERE c.customer_id = ids.customer_id
) seen
CROSS JOIN LATERAL (
    SELECT count(*) AS orders_count, sum(o.total) AS total_spent, max(o.placed_at) AS last_order_at
    FROM orders o WHERE o.customer_id = ids.customer_id
) bought
ON CONFLICT (customer_id) DO UPDATE
SET first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen, touches = EXCLUDED.touches,
    orders_count = EXCLUDED.orders_count, total_spent = EXCLUDED.total_spent,
    last_order_at = EXCLUDED.last_order_at, updated_at = now()
WHERE (cm.first_seen, cm.last_seen, cm.touches, cm.orders_count, cm.total_spent, cm.last_order_at)
      IS DISTINCT FROM (EXCLUDED.first_seen, EXCLUDED.last_seen, EXCLUDED.touches,
                        EXCLUDED.orders_count, EXCLUDED.total_spent, EXCLUDED.last_order_at)
RETURNING customer_id, first_seen, last_seen, touches, orders_count, total_spent, last_order_at
"""


# Figures are recomputed by the consumer and by the refresher. Both take this lock before they
# fold deltas and read the counts: otherwise one could read before the other commits, write after
# it, and leave figures that miss a touch (READ COMMITTED takes the refresh's snapshot after the
# lock). It also makes the refresh the one writer of `touch_counts`.
LOCK = "interactions:metrics"


TAKE_TURN = f"SELECT pg_advisory_xact_lock(hashtext('{LOCK}'))"


async def take_turn(conn: asyncpg.Connection, *, wait: bool = True) -> bool:
    """Hold the figures' lock until the transaction ends; without `wait`, False if taken. A
    transaction that also rewrites who touches belong to takes it first (`identities`)."""
    if wait:
        await conn.execute(TAKE_TURN)
        return True
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", LOCK))


async def refresh(conn: asyncpg.Connection, customer_ids: set[uuid.UUID]) -> list[dict[str, Any]]:
    """Recompute (under the figures' lock); returns the figures that changed."""
    if not customer_ids:
        return []
    await take_turn(conn)
    ids = sorted(customer_ids)
    await conn.execute(_FOLD, ids)
    rows = await conn.fetch(_REFRESH, ids)
    return [public(r) for r in rows]


async def forget_counts(conn: asyncpg.Connection, customer_ids: list[uuid.UUID]) -> None:
    """A customer gone (deleted, erased, merged away): its counts and deltas go, after its
    timeline (whose triggers leave a delta for what they remove). Under the figures' lock, like
    every other writer of the counts, so it never waits row by row for a refresh in progress."""
    await take_turn(conn)
    for table in ("touch_counts", "touch_deltas"):
        await conn.execute(
            f"DELETE FROM {table} WHERE customer_id = ANY($1::uuid[])", sorted(customer_ids)
        )


async def take_pending(conn: asyncpg.Connection, limit: int) -> set[uuid.UUID]:
    """The oldest marks (removed in the caller's transaction: a failed refresh keeps them)."""
    rows = await conn.fetch(
        "DELETE FROM metrics_pending WHERE id IN"
        " (SELECT id FROM metrics_pending ORDER BY id LIMIT $1) RETURNING customer_id",
        limit,
    )
    return {r["customer_id"] for r in rows}


async def get(conn: asyncpg.Connection, customer_id: uuid.UUID) -> dict[str, Any]:
    """The customer's figures; all zero before their first touch or order (no row yet)."""
    row = await conn.fetchrow(
        "SELECT customer_id, first_seen, last_seen, touches, orders_count, total_spent,"
        " last_order_at FROM customer_metrics WHERE customer_id = $1",
        customer_id,
    )
    return public(row) if row else none_yet(customer_id)


def none_yet(customer_id: uuid.UUID) -> dict[str, Any]:
    return {
        "customer_id": str(customer_id), "first_seen": None, "last_seen": None, "touches": {},
        "orders_count": 0, "total_spent": 0.0, "last_order_at": None,
    }  # fmt: skip


def public(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    out["customer_id"] = str(out["customer_id"])
    out["total_spent"] = float(out["total_spent"])
    return out
