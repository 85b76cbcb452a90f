"""Message rows through their life: claim -> (send) -> mark. A row is claimed (`sending`,
committed) before the relay is contacted and marked after, so a crash in between leaves it in
`sending`: it is never sent again (at most once per row) and becomes `unknown` after the claim
timeout, counted apart in the stats."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from shared import outbox
from shared.events.campaigns import MessageBounced, MessageSent

_CLAIM = """
UPDATE messages SET status = 'sending', claimed_at = now(), attempts = attempts + 1
WHERE id = (SELECT id FROM messages WHERE status = 'pending' AND send_after <= now()
            ORDER BY send_after, id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING *
"""


async def claim_next(conn: asyncpg.Connection) -> asyncpg.Record | None:
    return await conn.fetchrow(_CLAIM)


async def source_of(conn: asyncpg.Connection, row: Any) -> asyncpg.Record | None:
    """The campaign or journey the message belongs to."""
    if row["campaign_id"] is not None:
        return await conn.fetchrow(
            "SELECT subject, html, from_address, NULL::jsonb AS condition, false AS transactional"
            " FROM campaigns WHERE id = $1",
            row["campaign_id"],
        )
    return await conn.fetchrow(
        "SELECT subject, html, from_address, condition, transactional FROM journeys WHERE id = $1",
        row["journey_id"],
    )


async def is_suppressed(conn: asyncpg.Connection, email: str) -> bool:
    found = await conn.fetchval("SELECT 1 FROM suppressions WHERE email = lower($1)", email)
    return bool(found)


async def finish(conn: asyncpg.Connection, message_id: uuid.UUID, status: str, error: str) -> None:
    await conn.execute(
        "UPDATE messages SET status = $2, error = $3 WHERE id = $1", message_id, status, error
    )


async def retry_later(conn: asyncpg.Connection, row: Any, error: str, max_attempts: int) -> None:
    if row["attempts"] >= max_attempts:
        reason = f"gave up after {row['attempts']} attempts: {error}"
        await finish(conn, row["id"], "failed", reason)
        return
    delay = timedelta(seconds=min(2 ** row["attempts"], 300))
    await conn.execute(
        "UPDATE messages SET status = 'pending', send_after = $2, error = $3 WHERE id = $1",
        row["id"],
        datetime.now(UTC) + delay,
        error,
    )


async def mark_sent(conn: asyncpg.Connection, row: Any, email: str, subject: str) -> None:
    now = datetime.now(UTC)
    async with conn.transaction():
        await conn.execute(
            "UPDATE messages SET status = 'sent', sent_at = $2, email = $3, subject = $4,"
            " error = NULL WHERE id = $1",
            row["id"],
            now,
            email,
            subject,
        )
        await outbox.add(conn, MessageSent(**_ids(row), subject=subject, at=now))


async def mark_bounced(conn: asyncpg.Connection, row: Any, email: str, reason: str) -> None:
    now = datetime.now(UTC)
    async with conn.transaction():
        await conn.execute(
            "UPDATE messages SET status = 'bounced', sent_at = $2, email = $3, error = $4"
            " WHERE id = $1",
            row["id"],
            now,
            email,
            reason,
        )
        await conn.execute(
            "INSERT INTO suppressions (email, reason, message_id) VALUES (lower($1), $2, $3)"
            " ON CONFLICT (email) DO NOTHING",
            email,
            f"bounce: {reason}"[:500],
            row["id"],
        )
        await outbox.add(
            conn, MessageBounced(**_ids(row), permanent=True, reason=reason[:500], at=now)
        )


async def expire_claims(conn: asyncpg.Connection, older_than_s: float) -> int:
    """Rows claimed long ago and never marked: the sender died mid-send. Their outcome is
    unknown; they are not sent again."""
    status = await conn.execute(
        "UPDATE messages SET status = 'unknown',"
        " error = 'the sender stopped between claiming and recording this message'"
        " WHERE status = 'sending' AND claimed_at < now() - make_interval(secs => $1)",
        older_than_s,
    )
    return int(status.split()[-1])


def _ids(row: Any) -> dict[str, Any]:
    return {
        "message_id": str(row["id"]),
        "customer_id": str(row["customer_id"]),
        "campaign_id": str(row["campaign_id"]) if row["campaign_id"] else None,
        "journey_id": str(row["journey_id"]) if row["journey_id"] else None,
    }


def public(row: Any) -> dict[str, Any]:
    return {
        **_ids(row),
        "id": str(row["id"]),
        "email": row["email"],
        "status": row["status"],
        "attempts": row["attempts"],
        "subject": row["subject"],
        "error": row["error"],
        "send_after": row["send_after"].isoformat(),
        "sent_at": row["sent_at"].isoformat() if row["sent_at"] else None,
    }
