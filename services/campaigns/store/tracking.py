"""Opens, clicks, unsubscribes and double opt-in confirmations from the public links."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.campaigns.store import audience, membership
from shared import outbox
from shared.errors import not_found
from shared.events.campaigns import (
    LinkClicked,
    MessageOpened,
    SubscriptionConfirmed,
    UnsubscribeRequested,
)


async def _message(conn: asyncpg.Connection, message_id: str) -> asyncpg.Record:
    try:
        mid = uuid.UUID(str(message_id))
    except ValueError:
        raise not_found("message", message_id) from None
    row = await conn.fetchrow("SELECT * FROM messages WHERE id = $1", mid)
    if row is None:
        raise not_found("message", message_id)
    return row


def _ids(row: Any) -> dict[str, Any]:
    return {
        "message_id": str(row["id"]),
        "customer_id": str(row["customer_id"]),
        "campaign_id": str(row["campaign_id"]) if row["campaign_id"] else None,
        "journey_id": str(row["journey_id"]) if row["journey_id"] else None,
    }


async def record_open(conn: asyncpg.Connection, message_id: str, user_agent: str | None) -> None:
    """Every open is kept; MessageOpened is published for the first one of a message."""
    async with conn.transaction():
        row = await _message(conn, message_id)
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"open:{row['id']}")
        first = not await conn.fetchval("SELECT 1 FROM opens WHERE message_id = $1", row["id"])
        await conn.execute(
            "INSERT INTO opens (message_id, user_agent) VALUES ($1, $2)",
            row["id"],
            (user_agent or "")[:500],
        )
        if first:
            await outbox.add(conn, MessageOpened(**_ids(row), at=datetime.now(UTC)))


async def record_click(conn: asyncpg.Connection, message_id: str, url: str) -> None:
    async with conn.transaction():
        row = await _message(conn, message_id)
        await conn.execute(
            "INSERT INTO clicks (message_id, url) VALUES ($1, $2)", row["id"], url[:4000]
        )
        await outbox.add(conn, LinkClicked(**_ids(row), url=url[:4000], at=datetime.now(UTC)))


async def unsubscribe(conn: asyncpg.Connection, message_id: str) -> bool:
    """Record the request (once per message), ask contacts to apply it, and stop mailing the
    customer right away in the local projection. True the first time."""
    async with conn.transaction():
        row = await _message(conn, message_id)
        await audience.lock_for_events(conn)
        if not await _first(conn, "unsubscribes", row):
            return False
        customer_id = str(row["customer_id"])
        await audience.set_consent(conn, customer_id, "email", "unsubscribed")
        await membership.reevaluate(conn, [customer_id])
        await outbox.add(
            conn,
            UnsubscribeRequested(**_ids(row), email=row["email"], at=datetime.now(UTC)),
        )
        return True


async def confirm(conn: asyncpg.Connection, message_id: str) -> bool:
    """Record the confirmation (once per message) and ask contacts to apply it; contacts alone
    knows whether the consent is still pending. True the first time."""
    async with conn.transaction():
        row = await _message(conn, message_id)
        if not await _first(conn, "confirmations", row):
            return False
        ids = {k: v for k, v in _ids(row).items() if k != "campaign_id"}
        await outbox.add(
            conn, SubscriptionConfirmed(**ids, email=row["email"], at=datetime.now(UTC))
        )
        return True


async def _first(conn: asyncpg.Connection, table: str, message: asyncpg.Record) -> bool:
    """Record a message's unsubscribe or confirmation: True the first time, False after."""
    return bool(
        await conn.fetchval(
            f"INSERT INTO {table} (message_id, customer_id) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            message["id"],
            message["customer_id"],
        )
    )


async def message_exists(conn: asyncpg.Connection, message_id: str) -> None:
    await _message(conn, message_id)
