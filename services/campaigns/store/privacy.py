"""Campaigns' part of the privacy lifecycle.

Erasure: the audience row stays as a tombstone (its id, counters and stage; never live again) but
loses the address, names, company, phone, tags, attributes and consent; segment memberships and
named events go; message rows stay for the campaign figures but lose the address, the rendered
subject, the trigger context and the error text (pending ones are skipped); opens lose their user
agent; clicks and unsubscribes go; a bounce suppression of the address is replaced by its hash in
`erased_subjects`, which the sender checks before every mail. Export: all of it. Unmerge: the
restored customer is live again and gets back the named events the merge moved.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from shared.privacy import (
    cap_section,
    email_hash,
    jsonable,
    remember_erased,
    remember_moves,
    scrub_outbox,
    take_moves,
)

EXPORT_ROWS = 5000  # per list; the section is capped to one message besides (see cap_section)
ERASED_REASON = "the customer was erased"


async def _emails(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> set[str]:
    rows = await conn.fetch(
        "SELECT email FROM audience WHERE customer_id = ANY($1::uuid[]) AND email IS NOT NULL"
        " UNION SELECT email FROM messages WHERE customer_id = ANY($1::uuid[])"
        " AND email IS NOT NULL",
        ids,
    )
    return {r["email"].lower() for r in rows}


async def _message_ids(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    rows = await conn.fetch("SELECT id FROM messages WHERE customer_id = ANY($1::uuid[])", ids)
    return [r["id"] for r in rows]


async def erase(
    conn: asyncpg.Connection, customer_id: str, ids: list[uuid.UUID], hashes: list[str]
) -> None:
    emails = await _emails(conn, ids)
    messages = await _message_ids(conn, ids)
    await _blank_audience(conn, ids)
    await _leave_segments(conn, ids)
    await conn.execute("DELETE FROM audience_events WHERE customer_id = ANY($1::uuid[])", ids)
    await _blank_messages(conn, messages)
    await conn.execute("DELETE FROM suppressions WHERE email = ANY($1::text[])", sorted(emails))
    await conn.execute(
        "DELETE FROM merge_moves WHERE merged_id = ANY($1::uuid[]) OR survivor_id = ANY($1)", ids
    )
    known = {email_hash(e) for e in emails}
    await remember_erased(conn, customer_id, [str(i) for i in ids], {*hashes, *known})
    await scrub_outbox(conn, {str(i) for i in ids} | emails | {str(m) for m in messages})


async def _blank_audience(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> None:
    await conn.execute(
        "INSERT INTO audience (customer_id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING", ids
    )
    await conn.execute(
        "UPDATE audience SET email = NULL, first_name = NULL, last_name = NULL, company = NULL,"
        " phone = NULL, tags = '{}', attributes = '{}', consent = '{}', live = false,"
        " deleted_at = COALESCE(deleted_at, now()), updated_at = now()"
        " WHERE customer_id = ANY($1::uuid[])",
        ids,
    )


async def _leave_segments(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> None:
    """Drop the memberships and keep each segment's count right (no event: it would name them)."""
    await conn.execute(
        "WITH gone AS (DELETE FROM segment_members WHERE customer_id = ANY($1::uuid[])"
        "   RETURNING segment_id),"
        " per_segment AS (SELECT segment_id, count(*) AS n FROM gone GROUP BY segment_id)"
        " UPDATE segments s SET member_count = GREATEST(s.member_count - p.n, 0)"
        " FROM per_segment p WHERE s.id = p.segment_id",
        ids,
    )


async def _blank_messages(conn: asyncpg.Connection, messages: list[uuid.UUID]) -> None:
    await conn.execute(
        "UPDATE messages SET email = NULL, context = '{}', subject = NULL,"
        " status = CASE WHEN status = 'pending' THEN 'skipped' ELSE status END,"
        " error = CASE WHEN status = 'pending' THEN $2 ELSE NULL END"
        " WHERE id = ANY($1::uuid[])",
        messages,
        ERASED_REASON,
    )
    await conn.execute(
        "UPDATE opens SET user_agent = NULL WHERE message_id = ANY($1::uuid[])", messages
    )
    for table in ("clicks", "unsubscribes", "confirmations"):
        await conn.execute(f"DELETE FROM {table} WHERE message_id = ANY($1::uuid[])", messages)


async def forget_addresses(conn: asyncpg.Connection, messages: list[uuid.UUID]) -> None:
    """Message rows refused because their address was erased keep no trace of it."""
    await conn.execute(
        "UPDATE messages SET email = NULL, context = '{}', subject = NULL"
        " WHERE id = ANY($1::uuid[])",
        messages,
    )


async def section(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> dict[str, Any]:
    audience = await conn.fetch(
        "SELECT customer_id, email, first_name, last_name, company, phone, tags, attributes,"
        " stage, consent, orders_count, total_spent, last_seen, merged_into, deleted_at"
        " FROM audience WHERE customer_id = ANY($1::uuid[])",
        ids,
    )
    memberships = await conn.fetch(
        "SELECT m.customer_id, m.segment_id, s.name AS segment_name, m.entered_at"
        " FROM segment_members m JOIN segments s ON s.id = m.segment_id"
        " WHERE m.customer_id = ANY($1::uuid[]) ORDER BY m.entered_at",
        ids,
    )
    events = await conn.fetch(
        "SELECT customer_id, name, at FROM audience_events WHERE customer_id = ANY($1::uuid[])"
        " ORDER BY at DESC LIMIT $2",
        ids,
        EXPORT_ROWS,
    )
    return cap_section({
        "audience": jsonable(audience),
        "segment_memberships": jsonable(memberships),
        "events": jsonable(events),
        "messages": await _messages_section(conn, ids),
    })  # fmt: skip


async def _messages_section(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> list[dict]:
    rows = await conn.fetch(
        "SELECT id, campaign_id, journey_id, customer_id, email, subject, status, context,"
        " sent_at, created_at FROM messages WHERE customer_id = ANY($1::uuid[])"
        " ORDER BY created_at DESC LIMIT $2",
        ids,
        EXPORT_ROWS,
    )
    messages = jsonable(rows)
    wanted = [r["id"] for r in rows]
    opens = await _by_message(conn, "SELECT message_id, user_agent, at FROM opens", wanted)
    clicks = await _by_message(conn, "SELECT message_id, url, at FROM clicks", wanted)
    unsubscribes = await _by_message(conn, "SELECT message_id, at FROM unsubscribes", wanted)
    confirmations = await _by_message(conn, "SELECT message_id, at FROM confirmations", wanted)
    for message in messages:
        mid = message["id"]
        message["opens"] = opens.get(mid, [])
        message["clicks"] = clicks.get(mid, [])
        message["unsubscribed"] = unsubscribes.get(mid, [])
        message["confirmed"] = confirmations.get(mid, [])
    return messages


async def _by_message(
    conn: asyncpg.Connection, select: str, message_ids: list[uuid.UUID]
) -> dict[str, list[dict]]:
    rows = await conn.fetch(f"{select} WHERE message_id = ANY($1::uuid[]) ORDER BY at", message_ids)
    out: dict[str, list[dict]] = {}
    for row in jsonable(rows):
        out.setdefault(row.pop("message_id"), []).append(row)
    return out


async def remember_merge(conn: asyncpg.Connection, merged: uuid.UUID, survivor: uuid.UUID) -> None:
    """Call before the merge is folded: the merged customer's named events (moved to the
    survivor), so an unmerge moves exactly those back."""
    rows = await conn.fetch("SELECT source_id FROM audience_events WHERE customer_id = $1", merged)
    await remember_moves(conn, merged, survivor, "event", [r["source_id"] for r in rows])


async def unmerge(conn: asyncpg.Connection, survivor: uuid.UUID, restored: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO audience (customer_id) VALUES ($1) ON CONFLICT DO NOTHING", restored
    )
    await conn.execute(
        "UPDATE audience SET merged_into = NULL, live = known AND deleted_at IS NULL,"
        " updated_at = now() WHERE customer_id = $1",
        restored,
    )
    events = await take_moves(conn, restored, survivor, "event")
    await conn.execute(
        "UPDATE audience_events SET customer_id = $2 WHERE customer_id = $1"
        " AND source_id = ANY($3::text[])",
        survivor,
        restored,
        events,
    )
