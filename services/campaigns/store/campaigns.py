"""Campaigns: create, list, schedule, launch (materialise one message row per recipient)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from shared import outbox
from shared.errors import conflict, invalid, not_found
from shared.events.campaigns import CampaignLaunched
from shared.ids import uuid7

_MATERIALISE = """
INSERT INTO messages (id, campaign_id, customer_id, email)
SELECT gen_random_uuid(), $1, a.customer_id, a.email
FROM segment_members m JOIN audience a USING (customer_id)
WHERE m.segment_id = $2 AND a.live AND a.email IS NOT NULL
  AND a.consent ->> 'email' = 'subscribed'
  AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.email = lower(a.email))
ON CONFLICT DO NOTHING
"""


def public(row: Any) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": str(row["id"]),
        "name": row["name"],
        "segment_id": str(row["segment_id"]),
        "subject": row["subject"],
        "html": row["html"],
        "from": row["from_address"],
        "status": row["status"],
        "scheduled_at": iso(row["scheduled_at"]),
        "launched_at": iso(row["launched_at"]),
        "recipients": row["recipients"],
        "created_at": iso(row["created_at"]),
    }


async def create(conn: asyncpg.Connection, fields: dict[str, Any]) -> dict[str, Any]:
    segment_id = fields["segment_id"]
    if not await conn.fetchval("SELECT 1 FROM segments WHERE id = $1", segment_id):
        raise invalid("segment_id", f"segment {segment_id} does not exist")
    row = await conn.fetchrow(
        "INSERT INTO campaigns (id, name, segment_id, subject, html, from_address)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        uuid7(),
        fields["name"],
        segment_id,
        fields["subject"],
        fields["html"],
        fields["from_address"],
    )
    return public(row)


async def fetch(
    conn: asyncpg.Connection, campaign_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(f"SELECT * FROM campaigns WHERE id = $1{suffix}", campaign_id)
    if row is None:
        raise not_found("campaign", campaign_id)
    return row


async def list_page(
    conn: asyncpg.Connection, after: uuid.UUID | None, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM campaigns WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
        after,
        limit + 1,
    )
    return [public(r) for r in rows]


async def send(
    conn: asyncpg.Connection, campaign_id: uuid.UUID, at: datetime | None
) -> dict[str, Any]:
    """Launch now, or schedule for `at` (a time in the past means now)."""
    async with conn.transaction():
        row = await fetch(conn, campaign_id, lock=True)
        if row["status"] == "launched":
            raise conflict("this campaign was already sent")
        if at is not None and at > datetime.now(UTC):
            row = await conn.fetchrow(
                "UPDATE campaigns SET status = 'scheduled', scheduled_at = $2 WHERE id = $1"
                " RETURNING *",
                campaign_id,
                at,
            )
            return public(row)
        return public(await launch(conn, row))


async def launch(conn: asyncpg.Connection, row: Any) -> asyncpg.Record:
    """Materialise the recipients (subscribed, not suppressed) and announce the launch."""
    now = datetime.now(UTC)
    status = await conn.execute(_MATERIALISE, row["id"], row["segment_id"])
    recipients = int(status.split()[-1])
    launched = await conn.fetchrow(
        "UPDATE campaigns SET status = 'launched', launched_at = $2, recipients = $3"
        " WHERE id = $1 RETURNING *",
        row["id"],
        now,
        recipients,
    )
    await outbox.add(
        conn,
        CampaignLaunched(
            campaign_id=str(row["id"]),
            name=row["name"],
            segment_id=str(row["segment_id"]),
            recipients=recipients,
            at=now,
        ),
    )
    return launched


async def launch_due(conn: asyncpg.Connection) -> int:
    """Scheduled campaigns whose time has come (safe with several instances)."""
    launched = 0
    while True:
        async with conn.transaction():
            row = await conn.fetchrow(
                "SELECT * FROM campaigns WHERE status = 'scheduled' AND scheduled_at <= now()"
                " ORDER BY scheduled_at LIMIT 1 FOR UPDATE SKIP LOCKED"
            )
            if row is None:
                return launched
            await launch(conn, row)
            launched += 1
