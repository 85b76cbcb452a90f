"""The audience's snapshot and consent writes are one statement per call: a customer named more
than once in a call ends as applying the calls' items in order would leave it (campaigns' real
database, in a transaction rolled back at the end)."""

from __future__ import annotations

import uuid

from services.campaigns.store import audience
from tests.support.db import rolled_back


async def _row(conn, customer_id: str):  # type: ignore[no-untyped-def]
    return await conn.fetchrow(
        "SELECT email, tags, attributes, stage, consent, contact_version, known, live"
        " FROM audience WHERE customer_id = $1",
        uuid.UUID(customer_id),
    )


async def test_a_call_keeps_each_customers_newest_snapshot(infra, campaigns):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    async with rolled_back(infra.dsn("campaigns")) as conn:
        await audience.apply_snapshots(conn, [
            (a, {"email": "New@Example.com", "tags": ["vip", "b2b"], "attributes": {"plan": "pro"},
                 "stage": "customer", "consent": {"email": "subscribed"}, "version": 3}),
            (b, {"email": "b@example.com"}),
            (a, {"email": "old@example.com", "tags": [], "version": 2}),  # late: ignored
        ])  # fmt: skip
        await audience.apply_snapshots(conn, [(b, {"email": "b1@example.com", "version": 1})])
        assert tuple(await _row(conn, a)) == (
            "new@example.com", ["vip", "b2b"], {"plan": "pro"}, "customer",
            {"email": "subscribed"}, 3, True, True,
        )  # fmt: skip
        assert tuple(await _row(conn, b)) == (
            "b1@example.com", [], {}, "lead", {}, 1, True, True,
        )  # fmt: skip


async def test_a_call_applies_each_customers_consents_in_order(infra, campaigns):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    async with rolled_back(infra.dsn("campaigns")) as conn:
        await audience.apply_snapshots(conn, [(a, {"email": "a@example.com", "consent": {
            "email": "subscribed", "push": "subscribed"}})])  # fmt: skip
        await audience.set_consents(conn, [
            (a, "email", "unsubscribed"), (b, "sms", "subscribed"),
            (a, "sms", "subscribed"), (a, "email", "subscribed"),
        ])  # fmt: skip
        consent_a = (await _row(conn, a))["consent"]
        assert consent_a == {"email": "subscribed", "push": "subscribed", "sms": "subscribed"}
        placeholder = await _row(conn, b)  # before contacts' snapshot: a placeholder row
        assert (placeholder["consent"], placeholder["known"]) == ({"sms": "subscribed"}, False)


async def test_a_consent_the_row_already_has_writes_nothing(infra, campaigns):
    a = str(uuid.uuid4())
    version_of = "SELECT ctid::text FROM audience WHERE customer_id = $1"
    async with rolled_back(infra.dsn("campaigns")) as conn:
        snapshot = {"email": "a@example.com", "consent": {"email": "subscribed"}}
        await audience.apply_snapshots(conn, [(a, snapshot)])
        created = await conn.fetchval(version_of, uuid.UUID(a))
        await audience.set_consents(conn, [(a, "email", "subscribed")])  # ConsentChanged repeats it
        assert await conn.fetchval(version_of, uuid.UUID(a)) == created
        await audience.set_consents(conn, [(a, "email", "unsubscribed")])
        assert await conn.fetchval(version_of, uuid.UUID(a)) != created
        assert (await _row(conn, a))["consent"] == {"email": "unsubscribed"}
