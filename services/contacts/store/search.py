"""Listing and searching customers with cursor pagination (ids are time-ordered)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.contacts.store.rows import COLUMNS


@dataclass
class CustomerQuery:
    email: str | None = None
    phone: str | None = None
    tag: str | None = None
    name: str | None = None
    stage: str | None = None
    updated_since: datetime | None = None
    after: uuid.UUID | None = None
    limit: int = 50


async def search(conn: asyncpg.Connection, q: CustomerQuery) -> list[asyncpg.Record]:
    where = ["merged_into IS NULL", "deleted_at IS NULL", "erased_at IS NULL"]
    args: list[object] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if q.email:
        where.append(f"email = {arg(q.email)}")
    if q.phone:
        where.append(f"phone = {arg(q.phone)}")
    if q.tag:
        where.append(f"tags @> ARRAY[{arg(q.tag)}]::text[]")
    if q.name:
        prefix = arg(q.name.lower().replace("%", r"\%").replace("_", r"\_") + "%")
        where.append(f"(lower(first_name) LIKE {prefix} OR lower(last_name) LIKE {prefix})")
    if q.stage:
        where.append(f"stage = {arg(q.stage)}")
    if q.updated_since:
        where.append(f"updated_at >= {arg(q.updated_since)}")
    if q.after:
        where.append(f"id > {arg(q.after)}")
    limit = arg(q.limit + 1)
    sql = f"SELECT {COLUMNS} FROM customers WHERE {' AND '.join(where)} ORDER BY id LIMIT {limit}"
    return await conn.fetch(sql, *args)
