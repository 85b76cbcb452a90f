"""Scoring rules and the qualification threshold."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from services.sales.domain.scoring import Rule
from shared.errors import conflict, not_found
from shared.ids import uuid7

COLUMNS = "id, kind, match, points, decay_per_day, created_at"
TRIGGER_FIELD = {
    "track": "event",
    "page": "page",
    "email_opened": "email",
    "email_clicked": "email",
    "order_placed": "order",
    "ticket_opened": "ticket",
}


def public(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "kind": row["kind"],
        "match": row["match"] or None,
        "points": row["points"],
        "decay_per_day": row["decay_per_day"],
        "created_at": row["created_at"].isoformat(),
    }


async def live_rules(conn: asyncpg.Connection) -> list[Rule]:
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM scoring_rules WHERE deleted_at IS NULL")
    return [
        Rule(str(r["id"]), r["kind"], r["match"], r["points"], r["decay_per_day"]) for r in rows
    ]


async def create(
    conn: asyncpg.Connection, kind: str, match: str, points: int, decay_per_day: float | None
) -> asyncpg.Record:
    try:
        return await conn.fetchrow(
            "INSERT INTO scoring_rules (id, kind, match, points, decay_per_day)"
            f" VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}",
            uuid7(),
            kind,
            match,
            points,
            decay_per_day,
        )
    except asyncpg.UniqueViolationError:
        raise conflict(
            "a rule for this trigger already exists; delete it first",
            field=TRIGGER_FIELD[kind],
        ) from None


async def listed(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM scoring_rules WHERE deleted_at IS NULL ORDER BY id"
    )


async def delete(conn: asyncpg.Connection, rule_id: uuid.UUID) -> None:
    status = await conn.execute(
        "UPDATE scoring_rules SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL", rule_id
    )
    if status.endswith(" 0"):
        raise not_found("scoring rule", rule_id)


async def threshold(conn: asyncpg.Connection) -> float:
    return float(await conn.fetchval("SELECT qualify_at FROM scoring_settings WHERE id = 1"))


async def set_threshold(conn: asyncpg.Connection, value: float) -> asyncpg.Record:
    return await conn.fetchrow(
        "UPDATE scoring_settings SET qualify_at = $1, updated_at = now() WHERE id = 1"
        " RETURNING qualify_at, updated_at",
        value,
    )
