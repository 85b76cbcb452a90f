"""SLA policies per priority, and finding breaches the moment they are due."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from shared import outbox
from shared.events.support import SlaBreached

# (target name, due column, breached column, extra condition)
TARGETS = (
    (
        "first_response",
        "first_response_due",
        "first_response_breached_at",
        "first_response_at IS NULL",
    ),
    ("resolution", "resolution_due", "resolution_breached_at", "TRUE"),
)


def _policy(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "priority": row["priority"],
        "first_response_seconds": row["first_response_seconds"],
        "resolution_seconds": row["resolution_seconds"],
        "updated_at": row["updated_at"].isoformat(),
    }


async def policies(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM sla_policies ORDER BY array_position("
        "ARRAY['urgent','high','normal','low'], priority)"
    )
    return [_policy(r) for r in rows]


async def set_policy(
    conn: asyncpg.Connection, priority: str, first_response_s: int, resolution_s: int
) -> dict[str, Any]:
    """Applies to tickets opened (or re-prioritised) from now on."""
    row = await conn.fetchrow(
        "INSERT INTO sla_policies (priority, first_response_seconds, resolution_seconds)"
        " VALUES ($1, $2, $3) ON CONFLICT (priority) DO UPDATE SET"
        " first_response_seconds = EXCLUDED.first_response_seconds,"
        " resolution_seconds = EXCLUDED.resolution_seconds, updated_at = now() RETURNING *",
        priority,
        first_response_s,
        resolution_s,
    )
    return _policy(row)


async def breach_due(conn: asyncpg.Connection, limit: int = 200) -> int:
    """Mark every running ticket whose deadline passed, once per target; queue SlaBreached.

    SKIP LOCKED: several replicas share the work, and a ticket an agent is editing waits for
    the next tick instead of blocking the loop.
    """
    total = 0
    now = datetime.now(UTC)
    async with conn.transaction():
        for target, due, breached, condition in TARGETS:
            rows = await conn.fetch(
                f"SELECT id, customer_id, {due} AS due FROM tickets"
                f" WHERE status IN ('new', 'open') AND {breached} IS NULL AND {condition}"
                f" AND {due} <= $1 ORDER BY {due} LIMIT $2 FOR UPDATE SKIP LOCKED",
                now,
                limit,
            )
            if not rows:
                continue
            await conn.execute(
                f"UPDATE tickets SET {breached} = $2 WHERE id = ANY($1::uuid[])",
                [r["id"] for r in rows],
                now,
            )
            await outbox.add_many(
                conn,
                [
                    SlaBreached(
                        ticket_id=str(r["id"]),
                        customer_id=str(r["customer_id"]) if r["customer_id"] else None,
                        target=target,
                        due_at=r["due"],
                        breached_at=now,
                    )
                    for r in rows
                ],
            )
            total += len(rows)
    return total
