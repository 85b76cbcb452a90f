"""Accounts: create, change, read, search; customers are attached by their email domain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.sales.domain.accounts import AccountIn
from shared import outbox
from shared.errors import conflict, not_found, require_version
from shared.events.sales import AccountCreated, AccountUpdated
from shared.ids import uuid7

COLUMNS = "id, name, domain, industry, size, owner, version, created_at, updated_at"
_TAKEN = "an account with this domain already exists"


def public(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "domain": row["domain"],
        "industry": row["industry"],
        "size": row["size"],
        "owner": row["owner"],
        "version": row["version"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


async def create(conn: asyncpg.Connection, body: AccountIn) -> asyncpg.Record:
    async with conn.transaction():
        try:
            row = await conn.fetchrow(
                "INSERT INTO accounts (id, name, domain, industry, size, owner)"
                f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}",
                uuid7(),
                body.name,
                body.domain,
                body.industry,
                body.size,
                body.owner,
            )
        except asyncpg.UniqueViolationError:
            raise conflict(_TAKEN, field="domain") from None
        await attach_domain(conn, row["id"], row["domain"])
        await outbox.add(
            conn,
            AccountCreated(
                account_id=str(row["id"]),
                name=row["name"],
                domain=row["domain"],
                industry=row["industry"],
                size=row["size"],
                owned_by=row["owner"],
            ),
        )
        return row


async def patch(
    conn: asyncpg.Connection, account_id: uuid.UUID, changes: dict[str, Any], if_match: int | None
) -> asyncpg.Record:
    async with conn.transaction():
        row = await fetch(conn, account_id, lock=True)
        if row is None:
            raise not_found("account", account_id)
        require_version("account", row["version"], if_match)
        changes = {k: v for k, v in changes.items() if v != row[k]}
        if not changes:
            return row
        sets = ", ".join(f"{col} = ${i + 2}" for i, col in enumerate(changes))
        try:
            updated = await conn.fetchrow(
                f"UPDATE accounts SET {sets}, version = version + 1, updated_at = now()"
                f" WHERE id = $1 RETURNING {COLUMNS}",
                account_id,
                *changes.values(),
            )
        except asyncpg.UniqueViolationError:
            raise conflict(_TAKEN, field="domain") from None
        if "domain" in changes:
            await conn.execute(
                "UPDATE customers SET account_id = NULL WHERE account_id = $1 AND domain = $2",
                account_id,
                row["domain"],
            )
            await attach_domain(conn, account_id, updated["domain"])
        await outbox.add(
            conn,
            AccountUpdated(
                account_id=str(account_id),
                name=updated["name"],
                domain=updated["domain"],
                industry=updated["industry"],
                size=updated["size"],
                owned_by=updated["owner"],
                changed=sorted(changes),
            ),
        )
        return updated


async def attach_domain(
    conn: asyncpg.Connection, account_id: uuid.UUID, domain: str | None
) -> None:
    """Customers already known with this email domain join the account."""
    if domain:
        await conn.execute(
            "UPDATE customers SET account_id = $1 WHERE domain = $2 AND account_id IS NULL"
            " AND merged_into IS NULL AND deleted_at IS NULL",
            account_id,
            domain,
        )


async def fetch(
    conn: asyncpg.Connection, account_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM accounts WHERE id = $1{suffix}", account_id)


@dataclass
class AccountQuery:
    q: str | None = None  # a name prefix or a domain
    domain: str | None = None
    industry: str | None = None
    owner: str | None = None
    after: uuid.UUID | None = None
    limit: int = 50


async def search(conn: asyncpg.Connection, query: AccountQuery) -> list[asyncpg.Record]:
    where: list[str] = []
    args: list[object] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if query.q:
        prefix = arg(query.q.lower().replace("%", r"\%").replace("_", r"\_") + "%")
        where.append(f"(lower(name) LIKE {prefix} OR domain LIKE {prefix})")
    if query.domain:
        where.append(f"domain = {arg(query.domain)}")
    if query.industry:
        where.append(f"lower(industry) = lower({arg(query.industry)})")
    if query.owner:
        where.append(f"owner = {arg(query.owner)}")
    if query.after:
        where.append(f"id > {arg(query.after)}")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM accounts {clause} ORDER BY id LIMIT {arg(query.limit + 1)}", *args
    )


async def customers_of(
    conn: asyncpg.Connection, account_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT id, email, updated_at FROM customers WHERE account_id = $1"
        " AND merged_into IS NULL AND deleted_at IS NULL AND ($2::uuid IS NULL OR id > $2)"
        " ORDER BY id LIMIT $3",
        account_id,
        after,
        limit + 1,
    )
    return [{"customer_id": str(r["id"]), "email": r["email"]} for r in rows]
