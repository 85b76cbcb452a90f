"""Opening tickets and moving them through their statuses (with the SLA clock)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from services.support.domain import PAUSED, RUNNING, Attachment, deadlines
from services.support.store import outgoing, requesters
from services.support.store.messages import insert_message
from services.support.store.rows import COLUMNS, update
from shared import outbox
from shared.events.support import TicketAssigned, TicketOpened, TicketStatusChanged
from shared.ids import uuid7


@dataclass
class NewTicket:
    subject: str
    body: str
    requester_email: str
    channel: str  # api | web | email
    author: str
    author_kind: str  # agent | customer
    priority: str = "normal"
    assignee: str | None = None
    team: str | None = None
    tags: list[str] = field(default_factory=list)
    root_message_id: str | None = None  # the inbound mail's Message-ID
    follow_up_of: uuid.UUID | None = None
    attachments: list[Attachment] = field(default_factory=list)


async def policy_seconds(conn: asyncpg.Connection, priority: str) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT first_response_seconds, resolution_seconds FROM sla_policies WHERE priority = $1",
        priority,
    )
    return row["first_response_seconds"], row["resolution_seconds"]


async def open_ticket(
    conn: asyncpg.Connection, new: NewTicket, mail_domain: str
) -> tuple[asyncpg.Record, asyncpg.Record]:
    """Insert ticket + first message + events. Call inside a transaction. (ticket, message)."""
    now = datetime.now(UTC)
    customer_id = await requesters.customer_for(conn, new.requester_email)
    first_due, resolution_due = deadlines(now, *await policy_seconds(conn, new.priority))
    ticket = await conn.fetchrow(
        "INSERT INTO tickets (id, subject, priority, channel, requester_email, customer_id,"
        " assignee, team, tags, follow_up_of, first_response_due, resolution_due,"
        " created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)"
        f" RETURNING {COLUMNS}",
        uuid7(),
        new.subject,
        new.priority,
        new.channel,
        new.requester_email,
        customer_id,
        new.assignee,
        new.team,
        new.tags,
        new.follow_up_of,
        first_due,
        resolution_due,
        now,
    )
    root = new.root_message_id or outgoing.new_message_id(mail_domain, ticket["id"])
    await outgoing.remember_id(conn, root, ticket["id"], "in" if new.root_message_id else "root")
    opened = TicketOpened(
        ticket_id=str(ticket["id"]),
        customer_id=_str(customer_id),
        subject=new.subject,
        channel=new.channel,
        priority=new.priority,
        requester_email=new.requester_email,
        opened_at=now,
        ref=ticket["ref"],
        follow_up_of=_str(new.follow_up_of),
    )
    await outbox.add(conn, opened)
    message = await insert_message(
        conn,
        ticket,
        new.author,
        new.author_kind,
        "public",
        new.channel,
        new.body,
        new.attachments,
    )
    if new.assignee or new.team:
        await outbox.add(conn, assigned_event(ticket))
    return ticket, message


def assigned_event(ticket: asyncpg.Record) -> TicketAssigned:
    return TicketAssigned(
        ticket_id=str(ticket["id"]),
        customer_id=_str(ticket["customer_id"]),
        assignee=ticket["assignee"],
        team=ticket["team"],
    )


def status_changes(ticket: asyncpg.Record, target: str, now: datetime) -> dict:
    """Columns to change for `ticket -> target`, the SLA clock included (pure)."""
    changes: dict = {"status": target}
    paused_at = ticket["sla_paused_at"]
    if target in PAUSED and paused_at is None:
        changes["sla_paused_at"] = now
    if target in RUNNING and paused_at is not None:
        waited = now - paused_at
        changes["sla_paused_at"] = None
        changes["first_response_due"] = ticket["first_response_due"] + waited
        changes["resolution_due"] = ticket["resolution_due"] + waited
    if target == "resolved":
        changes["resolved_at"] = now
    if target in RUNNING:
        changes["resolved_at"] = None
    if target == "closed":
        changes["closed_at"] = now
    return changes


async def change_status(
    conn: asyncpg.Connection,
    ticket: asyncpg.Record,
    target: str,
    *,
    extra: dict | None = None,
    merged_into: uuid.UUID | None = None,
    resolved_mail: str | None = None,
    mail_domain: str = "ecrm.localhost",
) -> asyncpg.Record:
    """Move a (locked) ticket to `target` and queue TicketStatusChanged.

    `resolved_mail`: the body of the mail telling the requester it is resolved (CSAT link).
    """
    now = datetime.now(UTC)
    changes = {**status_changes(ticket, target, now), **(extra or {})}
    updated = await update(conn, ticket["id"], changes)
    await outbox.add(
        conn,
        TicketStatusChanged(
            ticket_id=str(ticket["id"]),
            customer_id=_str(ticket["customer_id"]),
            from_status=ticket["status"],
            to_status=target,
            at=now,
            merged_into=_str(merged_into),
        ),
    )
    if target == "resolved" and resolved_mail:
        await outgoing.queue(conn, updated, "resolved", resolved_mail, mail_domain)
    return updated


def _str(value: object) -> str | None:
    return str(value) if value is not None else None
