"""Inbound mail into tickets: thread it, or open a ticket; quarantine what cannot be used."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from services.support.domain import subject_ref
from services.support.mail.parse import ParsedMail
from services.support.store import outgoing
from services.support.store.lifecycle import NewTicket, open_ticket
from services.support.store.replies import add_customer_message
from services.support.store.rows import fetch_by_ref, survivor
from shared.ids import uuid7


@dataclass(frozen=True)
class Received:
    ticket_id: uuid.UUID
    ref: int
    opened: bool
    duplicate: bool = False


async def ingest(conn: asyncpg.Connection, mail: ParsedMail, mail_domain: str) -> Received:
    """Apply one inbound mail exactly once (keyed by its Message-ID), in one transaction."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", mail.message_id)
        seen = await conn.fetchval(
            "SELECT ticket_id FROM mail_ids WHERE message_id = $1", mail.message_id
        )
        if seen is not None:
            ticket = await survivor(conn, seen)
            return Received(ticket["id"], ticket["ref"], opened=False, duplicate=True)
        ticket = await _thread_of(conn, mail)
        if ticket is not None and ticket["status"] != "closed":
            ticket, _ = await add_customer_message(
                conn, ticket, mail.sender, "email", mail.body, mail.attachments
            )
            await outgoing.remember_id(conn, mail.message_id, ticket["id"], "in")
            return Received(ticket["id"], ticket["ref"], opened=False)
        new = NewTicket(
            subject=mail.subject,
            body=mail.body,
            requester_email=mail.sender,
            channel="email",
            author=mail.sender,
            author_kind="customer",
            root_message_id=mail.message_id,
            follow_up_of=ticket["id"] if ticket is not None else None,
            attachments=mail.attachments,
        )
        opened, _ = await open_ticket(conn, new, mail_domain)
        return Received(opened["id"], opened["ref"], opened=True)


async def _thread_of(conn: asyncpg.Connection, mail: ParsedMail) -> asyncpg.Record | None:
    """By In-Reply-To/References first; else by `[#ref]` in the subject from the requester."""
    if mail.thread_ids:
        found = await conn.fetch(
            "SELECT message_id, ticket_id FROM mail_ids WHERE message_id = ANY($1::text[])",
            mail.thread_ids,
        )
        by_id = {r["message_id"]: r["ticket_id"] for r in found}
        for message_id in mail.thread_ids:
            if message_id in by_id:
                return await survivor(conn, by_id[message_id])
    ref = subject_ref(mail.subject)
    if ref is None:
        return None
    ticket = await fetch_by_ref(conn, ref)
    if ticket is None or ticket["requester_email"] != mail.sender:
        return None  # a ticket number alone does not let a stranger write into a thread
    return await survivor(conn, ticket["id"])


async def quarantine(
    conn: asyncpg.Connection, mail_from: str | None, rcpt_to: list[str], reason: str, raw: bytes
) -> uuid.UUID:
    ident = uuid7()
    await conn.execute(
        "INSERT INTO quarantined_mail (id, mail_from, rcpt_to, reason, raw)"
        " VALUES ($1, $2, $3, $4, $5)",
        ident,
        mail_from,
        rcpt_to,
        reason,
        raw,
    )
    return ident
