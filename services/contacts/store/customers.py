"""Create, change, delete and list customers; consent and its history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.contacts.domain import CustomerIn, CustomerPatch, advances, consent_entry
from services.contacts.store.create import create_customer
from services.contacts.store.rows import (
    COLUMNS,
    created_event,
    email_taken,
    fetch,
    resolve,
    updated_event,
)
from shared import outbox
from shared.errors import conflict, not_found, require_version
from shared.events.contacts import ConsentChanged, CustomerDeleted, Identity, IdentityLinked
from shared.ids import uuid7

_INSERT = f"""
INSERT INTO customers (id, email, phone, first_name, last_name, company, tags, attributes,
                       stage, consent, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
RETURNING {COLUMNS}
"""


async def insert_customer(
    conn: asyncpg.Connection,
    fields: dict[str, Any],
    consent: dict[str, str],
    source: str,
    legal_basis: str | None = None,
) -> asyncpg.Record:
    """Insert a customer and queue CustomerCreated (+ ConsentChanged per channel given)."""
    now = datetime.now(UTC)
    consent_doc = {ch: consent_entry(state, source, now) for ch, state in consent.items()}
    try:
        row = await conn.fetchrow(
            _INSERT,
            uuid7(),
            fields.get("email"),
            fields.get("phone"),
            fields.get("first_name"),
            fields.get("last_name"),
            fields.get("company"),
            fields.get("tags") or [],
            fields.get("attributes") or {},
            fields.get("stage") or "lead",
            consent_doc,
            now,
        )
    except asyncpg.UniqueViolationError:
        raise conflict("a customer with this email already exists", field="email") from None
    events: list[Any] = [created_event(row)]
    for channel, state in consent.items():
        await _record_consent(conn, row["id"], channel, state, source, legal_basis, now)
        events.append(
            ConsentChanged(
                customer_id=str(row["id"]), channel=channel, state=state, source=source, at=now
            )
        )
    await outbox.add_many(conn, events)
    return row


async def create(conn: asyncpg.Connection, body: CustomerIn) -> asyncpg.Record:
    fields = body.model_dump(exclude={"consent", "identities"}, exclude_none=True)
    if not body.identities:  # the common case: one statement in its own transaction
        row = await create_customer(conn, fields, dict(body.consent), "api")
        if row is None:
            raise conflict("a customer with this email already exists", field="email")
        return row
    async with conn.transaction():
        await _claim_addresses(conn, body)
        for ident in (i for i in body.identities if i.kind != "email"):  # addresses: claimed
            owner = await conn.fetchval(
                "SELECT customer_id FROM identities WHERE kind = $1 AND value = $2",
                ident.kind,
                ident.value,
            )
            if owner:
                raise conflict(f"identity {ident.kind} is already linked", field="identities")
        row = await insert_customer(conn, fields, dict(body.consent), "api")
        for ident in body.identities:
            await link_identity(conn, row["id"], ident.kind, ident.value, None, created=True)
        return row


async def _claim_addresses(conn: asyncpg.Connection, body: CustomerIn) -> None:
    """409 when the email, or an identity of kind email, is already a customer's address."""
    addresses = {i.value: "identities" for i in body.identities if i.kind == "email"}
    if body.email:
        addresses[body.email] = "email"
    for address in sorted(addresses):
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"email:{address}")
        if await email_taken(conn, address):
            raise conflict("a customer with this email already exists", field=addresses[address])


async def link_identity(
    conn: asyncpg.Connection,
    customer_id: uuid.UUID,
    kind: str,
    value: str,
    request_id: str | None,
    *,
    created: bool = False,
) -> bool:
    """Link an identity if it is free; always announce the link (with the request id, if any)."""
    owner = await conn.fetchval(
        "INSERT INTO identities (kind, value, customer_id) VALUES ($1, $2, $3)"
        " ON CONFLICT (kind, value) DO UPDATE SET kind = EXCLUDED.kind RETURNING customer_id",
        kind,
        value,
        customer_id,
    )
    linked = owner == customer_id
    if linked:
        await outbox.add(
            conn,
            IdentityLinked(
                customer_id=str(customer_id),
                identity=Identity(kind=kind, value=value),
                request_id=request_id,
                created=created,
            ),
        )
    return linked


async def patch(
    conn: asyncpg.Connection, customer_id: uuid.UUID, body: CustomerPatch, if_match: int | None
) -> asyncpg.Record:
    async with conn.transaction():
        row = await resolve(conn, customer_id, lock=True)
        if row is None:
            raise not_found("customer", customer_id)
        require_version("customer", row["version"], if_match)
        changes = {k: v for k, v in body.changes().items() if v != row[k]}
        if changes.get("email"):
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))", f"email:{changes['email']}"
            )
            if await email_taken(conn, changes["email"], except_id=row["id"]):
                raise conflict("a customer with this email already exists", field="email")
        if not changes:
            return row
        return await apply_changes(conn, row, changes)


async def apply_changes(
    conn: asyncpg.Connection, row: asyncpg.Record, changes: dict[str, Any]
) -> asyncpg.Record:
    columns = list(changes)
    sets = ", ".join(f"{col} = ${i + 2}" for i, col in enumerate(columns))
    try:
        updated = await conn.fetchrow(
            f"UPDATE customers SET {sets}, version = version + 1, updated_at = now()"
            f" WHERE id = $1 RETURNING {COLUMNS}",
            row["id"],
            *changes.values(),
        )
    except asyncpg.UniqueViolationError:
        raise conflict("a customer with this email already exists", field="email") from None
    await outbox.add(conn, updated_event(updated, sorted(columns)))
    return updated


async def delete(conn: asyncpg.Connection, customer_id: uuid.UUID) -> None:
    async with conn.transaction():
        row = await fetch(conn, customer_id, lock=True)
        if row is None or row["deleted_at"] is not None or row["erased_at"] is not None:
            raise not_found("customer", customer_id)
        if row["merged_into"] is not None:
            raise conflict("this customer was merged; delete the survivor instead")
        await conn.execute(
            "UPDATE customers SET deleted_at = now(), version = version + 1 WHERE id = $1",
            customer_id,
        )
        await conn.execute("DELETE FROM identities WHERE customer_id = $1", customer_id)
        await outbox.add(conn, CustomerDeleted(customer_id=str(customer_id)))


async def set_consent(
    conn: asyncpg.Connection,
    customer_id: uuid.UUID,
    channel: str,
    state: str,
    source: str,
    legal_basis: str | None,
) -> asyncpg.Record:
    async with conn.transaction():
        row = await resolve(conn, customer_id, lock=True)
        if row is None:
            raise not_found("customer", customer_id)
        return await apply_consent(conn, row, channel, state, source, legal_basis)


async def apply_consent(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    channel: str,
    state: str,
    source: str,
    legal_basis: str | None,
) -> asyncpg.Record:
    """A channel's consent for a customer row (locked by the caller): its history and event."""
    current = (row["consent"] or {}).get(channel, {}).get("state")
    if current == state:
        return row
    now = datetime.now(UTC)
    consent = {**(row["consent"] or {}), channel: consent_entry(state, source, now)}
    updated = await conn.fetchrow(
        "UPDATE customers SET consent = $2, version = version + 1, updated_at = now()"
        f" WHERE id = $1 RETURNING {COLUMNS}",
        row["id"],
        consent,
    )
    await _record_consent(conn, row["id"], channel, state, source, legal_basis, now)
    await outbox.add(
        conn,
        ConsentChanged(
            customer_id=str(row["id"]), channel=channel, state=state, source=source, at=now
        ),
    )
    return updated


async def _record_consent(
    conn: asyncpg.Connection,
    customer_id: uuid.UUID,
    channel: str,
    state: str,
    source: str,
    legal_basis: str | None,
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO consent_history (customer_id, channel, state, source, legal_basis, at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        customer_id,
        channel,
        state,
        source,
        legal_basis,
        at,
    )


async def consent_history(conn: asyncpg.Connection, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT channel, state, source, legal_basis, at FROM consent_history"
        " WHERE customer_id = $1 ORDER BY id DESC",
        customer_id,
    )
    return [{**dict(r), "at": r["at"].isoformat()} for r in rows]


async def advance_stage(conn: asyncpg.Connection, customer_id: uuid.UUID, stage: str) -> None:
    """Automation moves a lifecycle stage forward only; an agent's later stage is kept."""
    row = await resolve(conn, customer_id, lock=True)
    if row is None or not advances(row["stage"], stage):
        return
    await apply_changes(conn, row, {"stage": stage})
