"""GDPR requests in contacts: erasure (the tombstone, the announcement) and export (contacts'
section); their tracking is in privacy_requests.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.contacts.store.privacy_requests import open_request, record_answer
from services.contacts.store.rows import COLUMNS, fetch, public
from shared import outbox
from shared.errors import not_found
from shared.events.privacy import ANSWERS, CustomerErased, ExportRequested
from shared.privacy import (
    ERASED,
    email_hash,
    identity_hash,
    jsonable,
    remember_erased,
    scrub_outbox,
)

ErasureCompleted = ANSWERS["contacts"][0]
KNOWN_SOURCES = (
    "api",
    "identify",
    "import",
    "unsubscribe_link",
    "double_opt_in",
    "inbound_mail",
    "preference",
)
LEGAL_BASES = ("consent", "contract", "legal_obligation", "vital_interests", "public_task",
               "legitimate_interests")  # fmt: skip


async def person(conn: asyncpg.Connection, customer_id: uuid.UUID) -> list[asyncpg.Record]:
    """The customer (followed to its survivor) and every customer merged into it, locked; the
    survivor first. Empty for an unknown id. Deleted and erased customers are found too."""
    row = await fetch(conn, customer_id)
    for _ in range(16):
        if row is None or row["merged_into"] is None:
            break
        row = await fetch(conn, row["merged_into"])
    if row is None:
        return []
    return list(
        await conn.fetch(
            "WITH RECURSIVE tree AS (SELECT id FROM customers WHERE id = $1"
            " UNION SELECT c.id FROM customers c JOIN tree t ON c.merged_into = t.id)"
            f" SELECT {COLUMNS} FROM customers WHERE id IN (SELECT id FROM tree)"
            " ORDER BY id = $1 DESC, id FOR UPDATE",
            row["id"],
        )
    )


async def erase(conn: asyncpg.Connection, customer_id: uuid.UUID, requested_by: str) -> str:
    """Blank the person's data in contacts, keep the ids as tombstones, announce the erasure."""
    async with conn.transaction():
        people = await person(conn, customer_id)
        if not people:
            raise not_found("customer", customer_id)
        root = people[0]["id"]
        ids = [r["id"] for r in people]
        identities = await conn.fetch(
            "SELECT kind, value FROM identities WHERE customer_id = ANY($1::uuid[])", ids
        )
        emails = {r["email"] for r in people if r["email"]}
        emails |= {i["value"] for i in identities if i["kind"] == "email"}
        values = {i["value"] for i in identities if i["kind"] != "email"}
        request_id = await open_request(conn, "erasure", root, requested_by)
        await record_answer(conn, request_id, "contacts", None)
        await _blank(conn, ids)
        hashes = {email_hash(e) for e in emails} | {identity_hash(v) for v in values}
        await remember_erased(conn, str(root), [str(i) for i in ids], hashes)
        phones = {r["phone"] for r in people if r["phone"]}
        await scrub_outbox(conn, {str(i) for i in ids} | emails | values | phones)
        primary = people[0]["email"]
        now = datetime.now(UTC)
        await outbox.add(
            conn,
            CustomerErased(
                customer_id=str(root), request_id=str(request_id),
                email_hash=email_hash(primary) if primary else None,
                identity_hashes=sorted(hashes - ({email_hash(primary)} if primary else set())),
                merged_ids=[str(i) for i in ids[1:]], at=now,
            ),
            ErasureCompleted(
                customer_id=str(root), request_id=str(request_id), service="contacts", at=now
            ),
        )  # fmt: skip
        return str(request_id)


async def _blank(conn: asyncpg.Connection, ids: list[uuid.UUID]) -> None:
    await conn.execute(
        "UPDATE customers SET email = NULL, phone = NULL, first_name = NULL, last_name = NULL,"
        " company = NULL, tags = '{}', attributes = '{}', consent = '{}',"
        " erased_at = COALESCE(erased_at, now()), version = version + 1, updated_at = now()"
        " WHERE id = ANY($1::uuid[])",
        ids,
    )
    await conn.execute("DELETE FROM identities WHERE customer_id = ANY($1::uuid[])", ids)
    await conn.execute(  # the record of lawful processing stays; free text goes
        "UPDATE consent_history SET"
        " source = CASE WHEN source = ANY($2::text[]) THEN source ELSE $4 END,"
        " legal_basis = CASE WHEN legal_basis = ANY($3::text[]) THEN legal_basis END"
        " WHERE customer_id = ANY($1::uuid[])",
        ids,
        list(KNOWN_SOURCES),
        list(LEGAL_BASES),
        ERASED,
    )
    await conn.execute(
        "UPDATE merges SET moved = '{\"erased\": true}'"
        " WHERE survivor_id = ANY($1::uuid[]) OR merged_id = ANY($1::uuid[])",
        ids,
    )
    await conn.execute(  # earlier exports of the person are personal data too
        "UPDATE privacy_answers SET section = NULL WHERE request_id IN"
        " (SELECT id FROM privacy_requests WHERE customer_id = ANY($1::uuid[]))",
        ids,
    )


async def export(conn: asyncpg.Connection, customer_id: uuid.UUID, requested_by: str) -> str:
    async with conn.transaction():
        people = await person(conn, customer_id)
        if not people:
            raise not_found("customer", customer_id)
        root = people[0]["id"]
        request_id = await open_request(conn, "export", root, requested_by)
        await record_answer(conn, request_id, "contacts", await contacts_section(conn, people))
        await outbox.add(
            conn,
            ExportRequested(
                customer_id=str(root), request_id=str(request_id),
                merged_ids=[str(r["id"]) for r in people[1:]], at=datetime.now(UTC),
            ),
        )  # fmt: skip
        return str(request_id)


async def contacts_section(
    conn: asyncpg.Connection, people: list[asyncpg.Record]
) -> dict[str, Any]:
    ids = [r["id"] for r in people]
    identities = await conn.fetch(
        "SELECT kind, value, customer_id, created_at FROM identities"
        " WHERE customer_id = ANY($1::uuid[]) ORDER BY created_at", ids
    )  # fmt: skip
    consent = await conn.fetch(
        "SELECT customer_id, channel, state, source, legal_basis, at FROM consent_history"
        " WHERE customer_id = ANY($1::uuid[]) ORDER BY id", ids
    )  # fmt: skip
    merges = await conn.fetch(
        "SELECT survivor_id, merged_id, requested_by, at, undone_at FROM merges"
        " WHERE survivor_id = ANY($1::uuid[]) OR merged_id = ANY($1::uuid[]) ORDER BY id", ids
    )  # fmt: skip
    return {
        "customer": _with_state(people[0]),
        "merged_customers": [_with_state(r) for r in people[1:]],
        "identities": jsonable(identities),
        "consent_history": jsonable(consent),
        "merges": jsonable(merges),
    }


def _with_state(row: asyncpg.Record) -> dict[str, Any]:
    state = {k: row[k].isoformat() if row[k] else None for k in ("deleted_at", "erased_at")}
    merged_into = str(row["merged_into"]) if row["merged_into"] else None
    return {**public(row), **state, "merged_into": merged_into}
