"""While PostgreSQL is unreachable, the API answers 503 with Retry-After and keeps nothing."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from services.contacts.store import create
from shared.db import init_connection
from tests.support.events import eventually
from tests.support.faults import frozen


async def test_database_outage_is_503_and_nothing_half_accepted(infra, contacts, http, auth, email):
    with frozen(infra.pid("postgres")):  # the server and all its backends stop answering
        refused = await http.post(
            f"{contacts}/api/v1/customers", json={"email": email}, headers=auth, timeout=40
        )
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "2"
    assert refused.headers["content-type"] == "application/problem+json"

    async def accepted_again() -> bool:
        r = await http.post(
            f"{contacts}/api/v1/customers/identify", json={"email": "probe." + email}, headers=auth
        )
        return r.status_code in (200, 201)

    await eventually(accepted_again, timeout=30)
    conn = await asyncpg.connect(infra.dsn("contacts"))
    try:
        assert await conn.fetchval("SELECT count(*) FROM customers WHERE email = $1", email) == 0
    finally:
        await conn.close()
    retried = await http.post(f"{contacts}/api/v1/customers", json={"email": email}, headers=auth)
    assert retried.status_code == 201


@pytest.mark.parametrize("late", [False, True])
async def test_a_create_run_past_its_deadline_keeps_nothing(
    infra, contacts, email, monkeypatch, late
):
    """The one-statement create has no BEGIN and COMMIT: the deadline it carries is what keeps
    a stalled server from writing a customer whose client was already told 503."""
    if late:  # the server runs the statement after its caller has given up
        monkeypatch.setattr(create, "effect_deadline", lambda sent: sent - timedelta(seconds=1))
    conn = await asyncpg.connect(infra.dsn("contacts"))
    try:
        await init_connection(conn)
        if late:
            with pytest.raises(create.LateForItsCaller):
                await create.create_customer(conn, {"email": email}, {"email": "subscribed"}, "api")
        else:
            row = await create.create_customer(
                conn, {"email": email}, {"email": "subscribed"}, "api"
            )
            assert row["email"] == email
        customers = await conn.fetchval("SELECT count(*) FROM customers WHERE email = $1", email)
        history = await conn.fetchval(
            "SELECT count(*) FROM consent_history h JOIN customers c ON c.id = h.customer_id"
            " WHERE c.email = $1", email,
        )  # fmt: skip
        events = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE data::jsonb ->> 'email' = $1", email
        )
        assert (customers, history, events) == ((0, 0, 0) if late else (1, 1, 1))
    finally:
        await conn.close()
