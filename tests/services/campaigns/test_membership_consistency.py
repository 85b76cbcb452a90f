"""Incremental membership (kept from each event) equals a full SQL rebuild, on randomised
customers and events flowing through contacts and the event log."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from services.campaigns.rules.parse import inline
from services.campaigns.store import membership
from shared.db import _init_connection
from shared.events.interactions import CustomerMetricsChanged, InteractionRecorded
from tests.services.campaigns.conftest import (
    members,
    new_customer,
    new_segment,
    projected,
)
from tests.support.events import eventually, publish


def _rules(tag: str) -> list[dict]:
    return [
        {"all": [{"tag": tag}, {"tag": "gold"}]},
        {"all": [{"tag": tag}, {"any": [{"consent": "email"}, {"stage": "customer"}]}]},
        {"all": [{"tag": tag}, {"attribute": "plan", "op": "in", "value": ["pro", "team"]}]},
        {"all": [{"tag": tag}, {"metric": "total_spent", "op": "gte", "value": 100}]},
        {"all": [{"tag": tag}, {"event": "Viewed Cart", "within_days": 7, "min_count": 2}]},
        {"all": [{"tag": tag}, {"not": {"metric": "orders_count", "op": "gt", "value": 1}}]},
    ]


async def test_incremental_membership_equals_a_full_rebuild(
    infra, contacts, campaigns, http, auth, tag
):
    rng = random.Random(uuid.uuid4().int)
    segments = [await new_segment(http, campaigns, auth, rule) for rule in _rules(tag)]
    people = []
    for _ in range(10):
        people.append(
            await new_customer(
                http,
                contacts,
                auth,
                tags=[tag, *rng.sample(["gold", "silver"], rng.randint(0, 2))],
                attributes={"plan": rng.choice(["free", "pro", "team"])},
                stage=rng.choice(["lead", "customer"]),
                consent={"email": rng.choice(["subscribed", "unsubscribed"])},
            )
        )
    await projected(http, campaigns, auth, {"tag": tag}, len(people))
    now = datetime.now(UTC)
    for person in people:
        for _ in range(rng.randint(0, 3)):
            await publish(
                infra.bootstrap,
                InteractionRecorded(
                    interaction_id=uuid.uuid4().hex,
                    customer_id=person["id"],
                    kind="track",
                    name="Viewed Cart",
                    occurred_at=now - timedelta(days=rng.choice([0, 1, 10])),
                ),
            )
        await publish(
            infra.bootstrap,
            CustomerMetricsChanged(
                customer_id=person["id"],
                orders_count=rng.randint(0, 3),
                total_spent=rng.choice([0, 50, 100, 250.5]),
            ),
        )
        if rng.random() < 0.5:
            await http.patch(
                f"{contacts}/api/v1/customers/{person['id']}",
                json={"tags": [tag, rng.choice(["gold", "silver"])]},
                headers=auth,
            )
        if rng.random() < 0.3:
            await http.put(
                f"{contacts}/api/v1/customers/{person['id']}/consent",
                json={"channel": "email", "state": "unsubscribed"},
                headers=auth,
            )
    victim = rng.choice(people)
    await http.delete(f"{contacts}/api/v1/customers/{victim['id']}", headers=auth)
    await projected(http, campaigns, auth, {"tag": tag}, len(people) - 1)  # deletion applied

    conn = await asyncpg.connect(infra.dsn("campaigns"))
    await _init_connection(conn)
    try:

        async def consistent() -> bool:
            rules = await membership.all_rules(conn)
            for segment in segments:
                rule = inline(rules[segment["id"]], rules)
                rebuilt = {
                    str(c) for c in await membership.matching_ids(conn, rule, datetime.now(UTC))
                }
                if rebuilt != await members(http, campaigns, auth, segment["id"]):
                    return False
            return True

        await eventually(consistent, timeout=40, interval=0.5)
        for segment in segments:
            assert victim["id"] not in await members(http, campaigns, auth, segment["id"])
    finally:
        await conn.close()
