"""Reading a customer's score: the current value, when it qualified, the scored events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from services.sales.domain.scoring import Entry, worth
from services.sales.store.scoring import scores_of, survivors_of


async def score_card(
    conn: asyncpg.Connection,
    customer_id: uuid.UUID,
    now: datetime,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> dict[str, Any]:
    """History newest first, `limit` entries per page (cursor: the last entry's time and id)."""
    customer_id = (await survivors_of(conn, {customer_id}))[customer_id]
    score = (await scores_of(conn, [customer_id], now)).get(customer_id, 0.0)
    qualified_at = await conn.fetchval(
        "SELECT qualified_at FROM lead_qualifications WHERE customer_id = $1", customer_id
    )
    rows = await conn.fetch(
        "SELECT event_id, rule_id, kind, label, points, decay_per_day, occurred_at, recorded_at"
        "  FROM score_history WHERE customer_id = $1"
        "   AND ($2::timestamptz IS NULL OR (occurred_at, event_id) < ($2, $3::uuid))"
        " ORDER BY occurred_at DESC, event_id DESC LIMIT $4",
        customer_id,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )
    return {
        "customer_id": str(customer_id),
        "score": score,
        "qualified_at": qualified_at.isoformat() if qualified_at else None,
        "history": [_entry(r, now) for r in rows],
    }


def _entry(row: asyncpg.Record, now: datetime) -> dict[str, Any]:
    value = worth(Entry(row["points"], row["decay_per_day"], row["occurred_at"]), now)
    return {
        "event_id": str(row["event_id"]),
        "rule_id": str(row["rule_id"]),
        "kind": row["kind"],
        "label": row["label"],
        "points": row["points"],
        "decay_per_day": row["decay_per_day"],
        "worth": round(value, 2),
        "occurred_at": row["occurred_at"].isoformat(),
        "recorded_at": row["recorded_at"].isoformat(),
    }
