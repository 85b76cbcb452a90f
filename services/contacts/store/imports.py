"""Importing customers: each row found by its keys (under their advisory locks, as identify
takes them) and created or brought up to date, in a savepoint of its own so that one refused
row leaves the others of its batch alone."""

from __future__ import annotations

from typing import Literal

import asyncpg

from services.contacts.domain import CustomerIn
from services.contacts.imports import RowError, changes_for, consent_to_apply
from services.contacts.store.customers import (
    apply_changes,
    apply_consent,
    insert_customer,
    link_identity,
)
from services.contacts.store.locks import person_keys
from services.contacts.store.rows import find_by_email, find_by_identity
from shared.privacy import email_hash, erased_among, identity_hash

Outcome = Literal["created", "updated", "unchanged"]
EDITABLE = {"phone", "first_name", "last_name", "company", "stage", "tags", "attributes"}


async def erased_keys(conn: asyncpg.Connection, rows: list[CustomerIn]) -> list[str | None]:
    """For each row, the field that names an erased person (`email` or `identities`), or None.
    An import is how an old list comes back: it must not bring back someone who was erased."""
    named = [_hashes(row) for row in rows]
    gone = await erased_among(conn, {h for hashes in named for h in hashes})
    return [next((f for h, f in hashes.items() if h in gone), None) for hashes in named]


def _hashes(row: CustomerIn) -> dict[str, str]:
    out = {email_hash(row.email): "email"} if row.email else {}
    for ident in row.identities:
        hashed = email_hash(ident.value) if ident.kind == "email" else identity_hash(ident.value)
        out.setdefault(hashed, "identities")
    return out


def keys_of(row: CustomerIn) -> set[str]:
    """The advisory lock keys of a row, as identify names them."""
    return person_keys(row.email, [(i.kind, i.value) for i in row.identities])


async def import_row(
    conn: asyncpg.Connection, row: CustomerIn, *, overwrite: bool, legal_basis: str | None
) -> Outcome:
    """The caller holds the row's keys (`store.locks`) in its transaction. Raises RowError (or a
    Problem) for a refused row, having changed nothing."""
    async with conn.transaction():
        found, unlinked = await _owner(conn, row)
        fields = row.model_dump(include=EDITABLE, exclude_none=True) | {"email": row.email}
        if found is None:
            created = await insert_customer(conn, fields, dict(row.consent), "import", legal_basis)
            for ident in row.identities:
                await link_identity(
                    conn, created["id"], ident.kind, ident.value, None, created=True
                )
            return "created"
        changes = changes_for(found, fields, overwrite)
        consent = consent_to_apply(found["consent"] or {}, row.consent)
        if not (changes or consent or unlinked):
            return "unchanged"
        if changes:
            found = await apply_changes(conn, found, changes)
        for channel, state in consent.items():
            found = await apply_consent(conn, found, channel, state, "import", legal_basis)
        for kind, value in unlinked:
            await link_identity(conn, found["id"], kind, value, None)
        return "updated"


async def _owner(
    conn: asyncpg.Connection, row: CustomerIn
) -> tuple[asyncpg.Record | None, list[tuple[str, str]]]:
    """The one live customer the row's keys lead to (None: a new customer), and the row's
    identities nobody holds yet. Keys leading to two customers refuse the row."""
    found = await find_by_email(conn, row.email) if row.email else None
    unlinked = []
    for ident in row.identities:
        if ident.kind == "email":
            owner = await find_by_email(conn, ident.value)
        else:
            owner = await find_by_identity(conn, ident.kind, ident.value)
        if owner is None:
            unlinked.append((ident.kind, ident.value))
        elif found is None:
            found = owner
        elif owner["id"] != found["id"]:
            raise RowError("identities", f"{ident.kind} {ident.value!r} is another customer's")
    return found, unlinked
