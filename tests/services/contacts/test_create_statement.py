"""A create is one statement in its own transaction: no BEGIN and COMMIT round trips, and what it
writes (the customer, its consent history, its events) is committed when the statement returns."""

from __future__ import annotations

import asyncio

import asyncpg

from services.contacts.domain import CustomerIn
from services.contacts.store import customers
from shared.db import init_connection


async def test_a_create_is_one_committed_statement(infra, contacts, email):
    conn = await asyncpg.connect(infra.dsn("contacts"))
    other = await asyncpg.connect(infra.dsn("contacts"))
    sent: list[str] = []
    try:
        await init_connection(conn)
        conn.add_query_logger(lambda logged: sent.append(logged.query))
        body = CustomerIn(email=email, consent={"email": "subscribed"})

        row = await customers.create(conn, body)
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon, not at once

        assert len(sent) == 1 and sent[0].lstrip().startswith("WITH customer AS"), sent
        assert not conn.is_in_transaction()
        seen = await other.fetchrow(
            """SELECT (SELECT count(*) FROM customers WHERE id = $1) AS customers,
                      (SELECT count(*) FROM consent_history WHERE customer_id = $1) AS history,
                      (SELECT count(*) FROM outbox WHERE key = $1::text) AS events""",
            row["id"],
        )
        assert dict(seen) == {"customers": 1, "history": 1, "events": 2}
    finally:
        await conn.close()
        await other.close()
