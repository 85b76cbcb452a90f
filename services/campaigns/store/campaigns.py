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

# The next chunk of a launching campaign's segment members, in customer order after the last
# one materialised: a message for each subscribed, not suppressed member with an address.
_MATERIALISE_CHUNK = """
WITH chunk AS (
  SELECT customer_id FROM segment_members
  WHERE segment_id = $2 AND ($3::uuid IS NULL OR customer_id > $3)
  ORDER BY customer_id LIMIT $4
), added AS (
  INSERT INTO messages (id, campaign_id, customer_id, email)
  SELECT gen_random_uuid(), $1, a.customer_id, a.email
  FROM chunk JOIN audience a USING (customer_id)
  WHERE a.live AND a.email IS NOT NULL
    AND a.consent ->> 'email' = 'subscribed'
    AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.email = lower(a.email))
  ON CONFLICT DO NOTHING
)
SELECT (SELECT count(*) FROM chunk) AS members,
       (SELECT customer_id FROM chunk ORDER BY customer_id DESC LIMIT 1) AS last
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
    """Launch now, or schedule for `at` (a time in the past means now). A launch only marks the
    campaign `launching`; `materialise_launches` finds its recipients in the background."""
    async with conn.transaction():
        row = await fetch(conn, campaign_id, lock=True)
        if row["status"] in ("launching", "launched"):
            raise conflict("this campaign was already sent")
        if at is not None and at > datetime.now(UTC):
            row = await conn.fetchrow(
                "UPDATE campaigns SET status = 'scheduled', scheduled_at = $2 WHERE id = $1"
                " RETURNING *",
                campaign_id,
                at,
            )
            return public(row)
        row = await conn.fetchrow(
            "UPDATE campaigns SET status = 'launching', launched_at = now() WHERE id = $1"
            " RETURNING *",
            campaign_id,
        )
        return public(row)


async def launch_due(conn: asyncpg.Connection) -> int:
    """Scheduled campaigns whose time has come start launching."""
    status = await conn.execute(
        "UPDATE campaigns SET status = 'launching', launched_at = now()"
        " WHERE status = 'scheduled' AND scheduled_at <= now()"
    )
    return int(status.split()[-1])


async def materialise_launches(conn: asyncpg.Connection, chunk: int) -> int:
    """Every launching campaign's recipients, `chunk` segment members a transaction (several
    instances share the campaigns); returns how many campaigns finished launching. A campaign
    whose segment is being built waits for the build (`builds`)."""
    finished = 0
    while True:
        async with conn.transaction():
            row = await conn.fetchrow(
                "SELECT * FROM campaigns c WHERE status = 'launching' AND NOT EXISTS"
                " (SELECT 1 FROM segments s WHERE s.id = c.segment_id"
                " AND s.building_since IS NOT NULL)"
                " ORDER BY launched_at LIMIT 1 FOR UPDATE OF c SKIP LOCKED"
            )
            if row is None:
                return finished
            finished += await _materialise_chunk(conn, row, chunk)


async def _materialise_chunk(conn: asyncpg.Connection, row: Any, chunk: int) -> int:
    """One chunk of the campaign's members; at the last, the campaign is launched: 1 then."""
    done = await conn.fetchrow(
        _MATERIALISE_CHUNK, row["id"], row["segment_id"], row["launch_cursor"], chunk
    )
    if done["members"] == chunk:
        await conn.execute(
            "UPDATE campaigns SET launch_cursor = $2 WHERE id = $1", row["id"], done["last"]
        )
        return 0
    recipients = await conn.fetchval(
        "SELECT count(*) FROM messages WHERE campaign_id = $1", row["id"]
    )
    await conn.execute(
        "UPDATE campaigns SET status = 'launched', recipients = $2 WHERE id = $1",
        row["id"],
        recipients,
    )
    await outbox.add(
        conn,
        CampaignLaunched(
            campaign_id=str(row["id"]),
            name=row["name"],
            segment_id=str(row["segment_id"]),
            recipients=recipients,
            at=row["launched_at"],
        ),
    )
    return 1
