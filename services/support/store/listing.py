"""Listing tickets with filters, newest first, keyset-paged by the time-ordered id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from services.support.store.rows import COLUMNS


@dataclass
class TicketQuery:
    requester_email: str | None = None
    customer_id: uuid.UUID | None = None
    statuses: list[str] | None = None
    priority: str | None = None
    assignee: str | None = None
    team: str | None = None
    tag: str | None = None
    after: uuid.UUID | None = None
    limit: int = 50


async def search(conn: asyncpg.Connection, q: TicketQuery) -> list[asyncpg.Record]:
    where: list[str] = []
    args: list[object] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if q.requester_email:
        where.append(f"requester_email = {arg(q.requester_email)}")
    if q.customer_id:
        where.append(f"customer_id = {arg(q.customer_id)}")
    if q.statuses and len(q.statuses) == 1:  # (status, id) then gives the page in order
        where.append(f"status = {arg(q.statuses[0])}")
    elif q.statuses:
        where.append(f"status = ANY({arg(q.statuses)}::text[])")
    if q.priority:
        where.append(f"priority = {arg(q.priority)}")
    if q.assignee:
        where.append(f"assignee = {arg(q.assignee)}")
    if q.team:
        where.append(f"team = {arg(q.team)}")
    if q.tag:
        where.append(f"tags @> ARRAY[{arg(q.tag)}]::text[]")
    if q.after:
        where.append(f"id < {arg(q.after)}")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    sql = f"SELECT {COLUMNS} FROM tickets {clause} ORDER BY id DESC LIMIT {arg(q.limit + 1)}"
    return await conn.fetch(sql, *args)
