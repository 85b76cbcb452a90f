"""Find-or-create a customer by email and/or identities, race-free.

Advisory locks on every key of the request (taken in sorted order, so two requests never wait
on each other in a cycle) serialise requests for the same person; the unique indexes stay as
the last line of defence.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.contacts.domain import traits_to_fields
from services.contacts.store.customers import apply_changes, insert_customer, link_identity
from services.contacts.store.locks import lock_keys, person_keys
from services.contacts.store.merge import merge
from services.contacts.store.rows import find_by_email, find_by_identity
from shared import outbox
from shared.events.contacts import Identity, IdentityLinked


async def identify(
    conn: asyncpg.Connection,
    email: str | None,
    identities: list[tuple[str, str]],
    traits: dict[str, Any],
    request_id: str | None = None,
) -> tuple[asyncpg.Record, bool]:
    """Returns (customer, created). Must be called inside a transaction."""
    await lock_keys(conn, person_keys(email, identities))
    row = None
    for kind, value in identities:
        if kind == "email":  # an address: its owner may hold it as its own email
            row = await find_by_email(conn, value)
        else:
            row = await find_by_identity(conn, kind, value)
        if row is not None:
            break
    if row is None and email:
        row = await find_by_email(conn, email)
    elif row is not None and email and not row["email"]:
        row = await _fold_into_address_owner(conn, row, email)
    created = row is None
    if row is None:
        fields = traits_to_fields(traits)
        fields["email"] = email
        row = await insert_customer(conn, fields, {}, "identify")
    else:
        row = await _fill_in(conn, row, email, traits)
    for kind, value in identities:
        await link_identity(conn, row["id"], kind, value, request_id, created=created)
    if email:  # its own address, or one it took over in a merge: the requester must hear back
        await _announce_email(conn, row, email, request_id, created)
    return row, created


async def _fold_into_address_owner(
    conn: asyncpg.Connection, row: asyncpg.Record, email: str
) -> asyncpg.Record:
    """The ids made an address-less customer before the address was seen with them; when the
    address already has its own customer, both are the same person: merge into the address's."""
    owner = await find_by_email(conn, email)
    if owner is None or owner["id"] == row["id"]:
        return row
    return await merge(conn, owner["id"], row["id"], "identity resolution")


async def _fill_in(
    conn: asyncpg.Connection, row: asyncpg.Record, email: str | None, traits: dict[str, Any]
) -> asyncpg.Record:
    """An identify only fills what the customer lacks; it never overwrites what an agent set."""
    fields = traits_to_fields(traits)
    changes = {k: v for k, v in fields.items() if k != "attributes" and not row[k]}
    new_attrs = {
        k: v for k, v in (fields.get("attributes") or {}).items() if k not in row["attributes"]
    }
    if new_attrs:
        changes["attributes"] = {**row["attributes"], **new_attrs}
    if email and not row["email"]:
        changes["email"] = email
    return await apply_changes(conn, row, changes) if changes else row


async def _announce_email(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    email: str,
    request_id: str | None,
    created: bool,
) -> None:
    await outbox.add(
        conn,
        IdentityLinked(
            customer_id=str(row["id"]),
            identity=Identity(kind="email", value=email),
            request_id=request_id,
            created=created,
        ),
    )
