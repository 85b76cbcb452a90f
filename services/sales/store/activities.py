"""Activities on deals: notes, calls, meetings, and tasks with a due date."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.sales.domain.deals import ActivityIn
from shared import outbox
from shared.errors import not_found
from shared.events.sales import ActivityLogged
from shared.ids import uuid7

COLUMNS = "id, deal_id, kind, subject, body, due_at, done_at, created_by, created_at"


def public(row: asyncpg.Record) -> dict[str, Any]:
    due, done = row["due_at"], row["done_at"]
    return {
        "id": str(row["id"]),
        "deal_id": str(row["deal_id"]),
        "kind": row["kind"],
        "subject": row["subject"],
        "body": row["body"],
        "due_at": due.isoformat() if due else None,
        "done_at": done.isoformat() if done else None,
        "created_by": row["created_by"],
        "created_at": row["created_at"].isoformat(),
    }


async def log(
    conn: asyncpg.Connection, deal_id: uuid.UUID, body: ActivityIn, actor: str
) -> asyncpg.Record:
    async with conn.transaction():
        deal = await conn.fetchrow("SELECT customer_id, name FROM deals WHERE id = $1", deal_id)
        if deal is None:
            raise not_found("deal", deal_id)
        now = datetime.now(UTC)
        row = await conn.fetchrow(
            f"INSERT INTO deal_activities ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8)"
            f" RETURNING {COLUMNS}",
            uuid7(),
            deal_id,
            body.kind,
            body.subject,
            body.body,
            body.due_at,
            actor,
            now,
        )
        await outbox.add(
            conn,
            ActivityLogged(
                deal_id=str(deal_id),
                customer_id=str(deal["customer_id"]),
                activity_id=str(row["id"]),
                kind=body.kind,
                subject=body.subject,
                due_at=body.due_at,
                at=now,
                deal_name=deal["name"],
            ),
        )
        return row


async def of_deal(
    conn: asyncpg.Connection, deal_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> list[asyncpg.Record]:
    if not await conn.fetchval("SELECT 1 FROM deals WHERE id = $1", deal_id):
        raise not_found("deal", deal_id)
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM deal_activities WHERE deal_id = $1"
        " AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
        deal_id,
        after,
        limit + 1,
    )


async def set_done(
    conn: asyncpg.Connection, deal_id: uuid.UUID, activity_id: uuid.UUID, done: bool
) -> asyncpg.Record:
    row = await conn.fetchrow(
        "UPDATE deal_activities SET done_at = CASE WHEN $3 THEN COALESCE(done_at, now()) END"
        f" WHERE id = $1 AND deal_id = $2 RETURNING {COLUMNS}",
        activity_id,
        deal_id,
        done,
    )
    if row is None:
        raise not_found("activity", activity_id)
    return row


async def overdue(
    conn: asyncpg.Connection,
    now: datetime,
    owner: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Open tasks past their due date, the most overdue first (cursor: due_at and id)."""
    rows = await conn.fetch(
        f"SELECT {', '.join('a.' + c.strip() for c in COLUMNS.split(','))},"
        "       d.name AS deal_name, d.owner AS deal_owner, d.customer_id"
        "  FROM deal_activities a JOIN deals d ON d.id = a.deal_id"
        " WHERE a.kind = 'task' AND a.done_at IS NULL AND a.due_at < $1"
        "   AND ($2::text IS NULL OR d.owner = $2)"
        "   AND ($3::timestamptz IS NULL OR (a.due_at, a.id) > ($3, $4::uuid))"
        " ORDER BY a.due_at, a.id LIMIT $5",
        now,
        owner,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )
    return [
        public(r)
        | {
            "deal_name": r["deal_name"],
            "owner": r["deal_owner"],
            "customer_id": str(r["customer_id"]),
        }
        for r in rows
    ]
