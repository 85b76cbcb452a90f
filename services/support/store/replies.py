"""What a new message on a ticket sets in motion: first response, reopening, mail out."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from services.support.domain import (
    Attachment,
    status_after_agent_reply,
    status_after_customer_reply,
)
from services.support.store import outgoing
from services.support.store.lifecycle import change_status
from services.support.store.messages import insert_message
from services.support.store.rows import update


async def add_agent_message(
    conn: asyncpg.Connection,
    ticket: asyncpg.Record,
    author: str,
    visibility: str,
    body: str,
    mail_domain: str,
) -> tuple[asyncpg.Record, asyncpg.Record]:
    """An agent's public reply (mailed to the requester) or internal note. (ticket, message)."""
    message = await insert_message(conn, ticket, author, "agent", visibility, "api", body)
    if visibility != "public":
        return await update(conn, ticket["id"], {}), message
    changes = {} if ticket["first_response_at"] else {"first_response_at": datetime.now(UTC)}
    target = status_after_agent_reply(ticket["status"])
    if target:
        ticket = await change_status(conn, ticket, target, extra=changes)
    else:
        ticket = await update(conn, ticket["id"], changes)
    await outgoing.queue(conn, ticket, "reply", body, mail_domain, message["id"])
    return ticket, message


async def add_customer_message(
    conn: asyncpg.Connection,
    ticket: asyncpg.Record,
    author: str,
    channel: str,
    body: str,
    attachments: list[Attachment] = (),  # type: ignore[assignment]
) -> tuple[asyncpg.Record, asyncpg.Record]:
    """The requester wrote back: a pending or resolved ticket opens again. (ticket, message)."""
    message = await insert_message(
        conn, ticket, author, "customer", "public", channel, body, attachments
    )
    target = status_after_customer_reply(ticket["status"])
    if target:
        return await change_status(conn, ticket, target), message
    return await update(conn, ticket["id"], {}), message
