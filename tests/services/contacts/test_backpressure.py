"""While PostgreSQL is unreachable, the API answers 503 with Retry-After and keeps nothing."""

from __future__ import annotations

import asyncpg

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
