"""Agents change tickets: PATCH (status, priority, assignment, tags) and merging two tickets."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg

from services.support.domain import TicketPatch, deadlines, transition_error
from services.support.store.lifecycle import assigned_event, change_status, policy_seconds
from services.support.store.rows import check_version, get_or_404, update, writable
from shared import outbox
from shared.errors import conflict, invalid

ResolvedMail = Callable[[asyncpg.Record], str]


async def patch_ticket(
    conn: asyncpg.Connection,
    ticket_id: uuid.UUID,
    body: TicketPatch,
    if_match: int | None,
    resolved_mail: ResolvedMail,
    mail_domain: str,
) -> asyncpg.Record:
    async with conn.transaction():
        ticket = await writable(conn, ticket_id)
        check_version(ticket, if_match)
        wanted = body.changes()
        changes = {k: v for k, v in wanted.items() if v != _current(ticket, k)}
        target = changes.pop("status", None)
        if target is not None and (error := transition_error(ticket["status"], target)):
            raise invalid("status", error)
        if "priority" in changes:
            changes.update(await _replanned(conn, ticket, changes["priority"]))
        if target is not None:
            ticket = await change_status(
                conn,
                ticket,
                target,
                extra=changes,
                resolved_mail=resolved_mail(ticket),
                mail_domain=mail_domain,
            )
        elif changes:
            ticket = await update(conn, ticket["id"], changes)
        if "assignee" in changes or "team" in changes:
            await outbox.add(conn, assigned_event(ticket))
        return ticket


def _current(ticket: asyncpg.Record, key: str) -> Any:
    value = ticket[key]
    return list(value) if key == "tags" else value


async def _replanned(
    conn: asyncpg.Connection, ticket: asyncpg.Record, priority: str
) -> dict[str, Any]:
    """New deadlines for a new priority, counted from the opening, keeping paused time."""
    old_first, _ = deadlines(ticket["created_at"], *await policy_seconds(conn, ticket["priority"]))
    paused = max(ticket["first_response_due"] - old_first, timedelta(0))
    first, resolution = deadlines(
        ticket["created_at"], *await policy_seconds(conn, priority), paused
    )
    return {"first_response_due": first, "resolution_due": resolution}


async def merge_tickets(
    conn: asyncpg.Connection, survivor_id: uuid.UUID, merged_id: uuid.UUID
) -> asyncpg.Record:
    """The merged ticket's thread and mail ids move to the survivor; it closes, pointing there."""
    if survivor_id == merged_id:
        raise conflict("a ticket cannot be merged into itself", field="merged_id")
    async with conn.transaction():
        rows = {}
        for tid in sorted([survivor_id, merged_id]):  # fixed lock order: no deadlock
            rows[tid] = await get_or_404(conn, tid, lock=True)
        survivor, merged = rows[survivor_id], rows[merged_id]
        if merged["merged_into"] is not None:
            raise conflict("that ticket was already merged", field="merged_id")
        if survivor["merged_into"] is not None or survivor["status"] == "closed":
            raise conflict("the surviving ticket is closed or merged; pick an open one")
        await conn.execute(
            "UPDATE ticket_messages SET ticket_id = $1 WHERE ticket_id = $2", survivor_id, merged_id
        )
        await conn.execute(
            "UPDATE mail_ids SET ticket_id = $1 WHERE ticket_id = $2", survivor_id, merged_id
        )
        await conn.execute(
            "UPDATE outgoing_mail SET ticket_id = $1 WHERE ticket_id = $2", survivor_id, merged_id
        )
        tags = list(dict.fromkeys([*survivor["tags"], *merged["tags"]]))
        if merged["status"] == "closed":
            await update(conn, merged_id, {"merged_into": survivor_id})
        else:
            await change_status(
                conn, merged, "closed", extra={"merged_into": survivor_id}, merged_into=survivor_id
            )
        return await update(conn, survivor_id, {"tags": tags})
