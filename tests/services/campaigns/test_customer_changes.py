"""A run of contacts' and interactions' changes applied at once (in waves, one statement per
kind) leaves campaigns' database as applying them one event at a time would: the audience rows,
segment membership with every enter and leave announced, and journey messages (its real
database, in transactions rolled back at the end; segments made through the API)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.campaigns import customer_changes
from shared.cloudevents import Envelope
from shared.events.base import Event
from shared.events.contacts import ConsentChanged, CustomerCreated, CustomerUpdated
from shared.events.interactions import CustomerMetricsChanged
from tests.services.campaigns.conftest import address, new_segment
from tests.support.db import rolled_back
from tests.support.events import envelope_of


def test_waves_name_each_key_once_and_keep_each_key_s_order() -> None:
    items = [("a", 1), ("a", 2), ("b", 3), ("a", 4), ("c", 5), ("b", 6)]
    assert customer_changes.waves(items) == [[1, 3, 5], [2, 6], [4]]
    assert customer_changes.waves([]) == []


def _consent(customer: str, state: str) -> ConsentChanged:
    return ConsentChanged(
        customer_id=customer, channel="email", state=state, source="test", at=datetime.now(UTC)
    )


def _run(tag: str) -> list[Envelope]:
    """Two customers' changes, interleaved, as contacts and interactions send them."""
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    subscribed = {"email": "subscribed"}
    events: list[Event] = [
        CustomerCreated(customer_id=a, email=address(), tags=[tag]),
        _consent(a, "subscribed"),
        CustomerMetricsChanged(customer_id=b, orders_count=2, total_spent=150),
        CustomerCreated(customer_id=b, email=address(), tags=[tag], consent=subscribed),
        CustomerUpdated(customer_id=a, email=address(), tags=[tag], consent=subscribed, version=2),
        _consent(a, "unsubscribed"),
        CustomerMetricsChanged(customer_id=a, orders_count=1, total_spent=120),
        CustomerUpdated(customer_id=b, email=address(), tags=[], version=3),
        CustomerUpdated(customer_id=b, email=address(), tags=[tag], version=2),  # late: ignored
        _consent(b, "unsubscribed"),
        _consent(a, "subscribed"),
    ]
    return [envelope_of(e) for e in events]


async def _state(conn: asyncpg.Connection, customers: list[uuid.UUID]) -> dict[str, Any]:
    audience = await conn.fetch(
        "SELECT customer_id, known, live, email, tags, stage, consent, contact_version,"
        " orders_count, total_spent FROM audience WHERE customer_id = ANY($1) ORDER BY 1",
        customers,
    )
    members = await conn.fetch(
        "SELECT segment_id, customer_id FROM segment_members WHERE customer_id = ANY($1)"
        " ORDER BY 1, 2",
        customers,
    )
    announced = await conn.fetch(
        "SELECT data->>'customer_id' AS customer, data->>'segment_id' AS segment,"
        " data->>'change' AS change FROM outbox"
        " WHERE ce_type LIKE '%SegmentMembershipChanged%' AND data->>'customer_id' = ANY($1)"
        " ORDER BY id",
        [str(c) for c in customers],
    )
    messages = await conn.fetch(
        "SELECT journey_id, trigger_event_id, customer_id FROM messages"
        " WHERE customer_id = ANY($1) ORDER BY 2",
        customers,
    )
    per_customer: dict[str, list[tuple]] = {}
    for row in announced:  # each customer's own order; customers interleave differently
        per_customer.setdefault(row["customer"], []).append((row["segment"], row["change"]))
    return {
        "audience": [tuple(r) for r in audience],
        "members": [tuple(r) for r in members],
        "announced": per_customer,
        "messages": [tuple(r) for r in messages],
    }


async def _applied(dsn: str, runs: list[list[Envelope]]) -> dict[str, Any]:
    """The state after these runs, in a transaction rolled back afterwards."""
    async with rolled_back(dsn) as conn:
        await conn.execute(
            "INSERT INTO journeys (id, name, trigger, subject, html, from_address)"
            " VALUES ($1, 'welcome', 'customer_created', 'Hi', '<p>Hi</p>', 'a@example.com')",
            uuid.UUID(int=1),
        )
        for run in runs:
            await customer_changes.apply(conn, run)
        customers = sorted({uuid.UUID(e.data["customer_id"]) for r in runs for e in r})
        return await _state(conn, customers)


async def test_a_run_at_once_equals_one_event_at_a_time(infra, campaigns, http, auth, tag):
    mailable = {"all": [{"tag": tag}, {"consent": "email"}]}
    spenders = {"all": [{"tag": tag}, {"metric": "total_spent", "op": "gte", "value": 100}]}
    for rule in (mailable, spenders):
        await new_segment(http, campaigns, auth, rule)
    run = _run(tag)

    at_once = await _applied(infra.dsn("campaigns"), [run])
    one_by_one = await _applied(infra.dsn("campaigns"), [[env] for env in run])

    assert at_once == one_by_one
    a, b = (uuid.UUID(run[0].data["customer_id"]), uuid.UUID(run[2].data["customer_id"]))
    audience = {row[0]: row for row in at_once["audience"]}
    assert audience[a][4:8] == ([tag], "lead", {"email": "subscribed"}, 2)
    assert audience[b][4:8] == ([], "lead", {"email": "unsubscribed"}, 3)
    assert {c for _, c in at_once["members"]} == {a}  # b left both segments, and stays out
    assert [change for _, change in at_once["announced"][str(b)]] == ["entered"] * 2 + ["left"] * 2
    assert len(at_once["messages"]) == 2  # one welcome per new customer
