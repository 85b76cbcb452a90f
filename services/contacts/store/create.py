"""Creating a customer in ONE statement, in its own transaction: the row, its consent history,
its events.

The hot path of the API (and of the benchmark). Everything the events carry is known before the
insert (the id is made here, the time too), so the outbox rows go in the same statement. A taken
address makes the insert do nothing, and the caller answers 409. The statement writes only before
its deadline (`shared.db.effect_deadline`): a client told 503 after a stall finds nothing kept,
as BEGIN and COMMIT would ensure, without their two round trips. The relay is woken after the
commit (`RelayWakeup`), not by a NOTIFY inside it: notifying transactions commit one at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.contacts.domain import consent_entry
from services.contacts.store.rows import COLUMNS
from shared.db import dump_json, effect_deadline
from shared.events.base import Event
from shared.events.contacts import ConsentChanged, CustomerCreated
from shared.ids import uuid7
from shared.outbox import COLUMNS as OUTBOX_COLUMNS
from shared.outbox import row_of, rows_from

LIVE = "merged_into IS NULL AND deleted_at IS NULL AND erased_at IS NULL"

_CREATE = f"""
WITH customer AS (
    INSERT INTO customers (id, email, phone, first_name, last_name, company, tags, attributes,
                           stage, consent, created_at, updated_at)
    SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12
    WHERE now() < $13 AND ($3::text IS NULL OR NOT EXISTS (
        SELECT 1 FROM identities WHERE kind = 'email' AND value = $3::text))
    ON CONFLICT (email) WHERE {LIVE} DO NOTHING
    RETURNING {COLUMNS}
), history AS (
    INSERT INTO consent_history (customer_id, channel, state, source, at)
    SELECT customer.id, c.key, c.value ->> 'state', c.value ->> 'source', $12
    FROM customer, jsonb_each($11::jsonb) AS c
), events AS (
    INSERT INTO outbox ({OUTBOX_COLUMNS})
    SELECT * FROM ({rows_from("$1", "$12")}) AS e WHERE EXISTS (SELECT 1 FROM customer)
)
SELECT customer.*, now() >= $13 AS late FROM (SELECT) AS one LEFT JOIN customer ON true
"""


class LateForItsCaller(TimeoutError):
    """The server ran the create after its deadline and kept nothing (answered as 503)."""


async def create_customer(
    conn: asyncpg.Connection, fields: dict[str, Any], consent: dict[str, str], source: str
) -> asyncpg.Record | None:
    """The new customer, or None when the address is taken. Not for an explicit transaction:
    the deadline stands in for one."""
    now = datetime.now(UTC)
    customer_id = uuid7()
    consent_doc = {ch: consent_entry(state, source, now) for ch, state in consent.items()}
    row = {
        "email": fields.get("email"), "phone": fields.get("phone"),
        "first_name": fields.get("first_name"), "last_name": fields.get("last_name"),
        "company": fields.get("company"), "tags": fields.get("tags") or [],
        "attributes": fields.get("attributes") or {}, "stage": fields.get("stage") or "lead",
    }  # fmt: skip
    events: list[Event] = [CustomerCreated(customer_id=str(customer_id), consent=consent, **row)]
    events += [
        ConsentChanged(customer_id=str(customer_id), channel=ch, state=st, source=source, at=now)
        for ch, st in consent.items()
    ]
    outbox_rows = dump_json([row_of(e) for e in events])
    created = await conn.fetchrow(
        _CREATE, outbox_rows, customer_id, row["email"], row["phone"], row["first_name"],
        row["last_name"], row["company"], row["tags"], row["attributes"], row["stage"],
        consent_doc, now, effect_deadline(now),
    )  # fmt: skip
    if created["late"]:
        raise LateForItsCaller("the database ran the create after its deadline; nothing was kept")
    return created if created["id"] is not None else None
