"""Property: the Python evaluator (incremental updates) and the SQL compilation (full builds)
select exactly the same customers, for random rules over random projections on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import services.campaigns
from services.campaigns.rules.evaluate import matches
from services.campaigns.rules.parse import event_depths, validate
from services.campaigns.store import audience, membership
from shared.db import _init_connection, create_pool, ensure_database, migrate

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
TAGS = ["a", "b", "c"]
KEYS = ["plan", "n", "list"]
TEXTS = ["", "a", "b", "ab", "B", "é", "10"]
NUMBERS = [-1.5, 0, 0.5, 1, 2, 2.25, 10]
EVENTS = ["Order Placed", "Signup"]

scalars = st.one_of(st.booleans(), st.sampled_from(NUMBERS), st.sampled_from(TEXTS))
attribute_values = st.one_of(st.none(), scalars, st.lists(scalars, max_size=3))


def _attribute_rule() -> st.SearchStrategy:
    key = st.sampled_from(KEYS)
    ordered = st.one_of(st.sampled_from(NUMBERS), st.sampled_from(TEXTS))
    return st.one_of(
        st.builds(
            lambda k, op, v: {"attribute": k, "op": op, "value": v},
            key,
            st.sampled_from(["eq", "ne", "contains"]),
            scalars,
        ),
        st.builds(
            lambda k, op, v: {"attribute": k, "op": op, "value": v},
            key,
            st.sampled_from(["gt", "gte", "lt", "lte"]),
            ordered,
        ),
        st.builds(
            lambda k, v: {"attribute": k, "op": "in", "value": v},
            key,
            st.lists(scalars, min_size=1, max_size=3),
        ),
        st.builds(lambda k: {"attribute": k, "op": "exists"}, key),
    )


leaves = st.one_of(
    st.builds(lambda t: {"tag": t}, st.sampled_from(TAGS)),
    st.builds(lambda s: {"stage": s}, st.sampled_from(["lead", "customer"])),
    st.builds(
        lambda s: {"consent": "email", "state": s},
        st.sampled_from(["subscribed", "unsubscribed", "unknown"]),
    ),
    _attribute_rule(),
    st.builds(
        lambda m, op, v: {"metric": m, "op": op, "value": v},
        st.sampled_from(["orders_count", "total_spent"]),
        st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]),
        st.sampled_from([0, 1, 2, 10.5, 99.99, 100]),
    ),
    st.builds(
        lambda e, d, c: {"event": e, "within_days": d, "min_count": c},
        st.sampled_from(EVENTS),
        st.integers(1, 7),
        st.integers(1, 2),
    ),
    st.builds(lambda e: {"event": e}, st.sampled_from(EVENTS)),
)
rules = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda c: {"any": c}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, children),
    ),
    max_leaves=6,
)
customers = st.lists(
    st.fixed_dictionaries(
        {
            "tags": st.lists(st.sampled_from(TAGS), unique=True, max_size=3),
            "attributes": st.dictionaries(st.sampled_from(KEYS), attribute_values, max_size=3),
            "stage": st.sampled_from(["lead", "customer"]),
            "consent": st.one_of(
                st.just({}),
                st.builds(
                    lambda s: {"email": s},
                    st.sampled_from(["subscribed", "unsubscribed", "unknown"]),
                ),
            ),
            "orders_count": st.integers(0, 3),
            "total_spent": st.sampled_from(["0", "10.5", "99.99", "100", "250"]),
            "events": st.lists(
                st.tuples(st.sampled_from(EVENTS), st.integers(0, 10 * 24)), max_size=4
            ),
        }
    ),
    min_size=1,
    max_size=6,
)


@pytest.fixture(scope="module")
def scratch_dsn(infra) -> str:
    """A database of its own with the campaigns schema, outside the running service's."""
    name = "ecrm_campaigns_rules"

    async def prepare() -> None:
        await ensure_database(infra.server_dsn, name)
        pool = await create_pool(infra.server_dsn.rsplit("/", 1)[0] + f"/{name}", 2)
        try:
            await migrate(pool, Path(services.campaigns.__file__).parent / "migrations")
        finally:
            await pool.close()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(prepare())
    finally:
        loop.close()
    return infra.server_dsn.rsplit("/", 1)[0] + f"/{name}"


def test_python_evaluator_agrees_with_sql_on_postgresql(scratch_dsn):
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(scratch_dsn))
    loop.run_until_complete(_init_connection(conn))

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(rule=rules, people=customers)
    @example(
        rule={"attribute": "plan", "op": "contains", "value": "b"},
        people=[
            {
                "tags": [],
                "attributes": {"plan": "B"},
                "stage": "lead",
                "consent": {},
                "orders_count": 0,
                "total_spent": "0",
                "events": [],
            }
        ],
    )
    def agree(rule: dict, people: list[dict]) -> None:
        validate(rule)
        loop.run_until_complete(_compare(conn, rule, people))

    try:
        agree()
    finally:
        loop.run_until_complete(conn.close())
        loop.close()


async def _compare(conn: asyncpg.Connection, rule: dict, people: list[dict]) -> None:
    tx = conn.transaction()
    await tx.start()
    try:
        ids = [await _insert(conn, person) for person in people]
        by_sql = set(await membership.matching_ids(conn, rule, NOW))
        by_python = set()
        for cid in ids:
            profile = await audience.load_profile(conn, cid, event_depths(rule))
            if profile is not None and matches(rule, profile, NOW):
                by_python.add(cid)
        assert by_sql == by_python, (rule, people)
    finally:
        await tx.rollback()


async def _insert(conn: asyncpg.Connection, person: dict) -> uuid.UUID:
    cid = uuid.uuid4()
    await conn.execute(
        "INSERT INTO audience (customer_id, known, live, tags, attributes, stage, consent,"
        " orders_count, total_spent) VALUES ($1, true, true, $2, $3, $4, $5, $6, $7::numeric)",
        cid,
        person["tags"],
        person["attributes"],
        person["stage"],
        person["consent"],
        person["orders_count"],
        person["total_spent"],
    )
    for i, (name, hours_ago) in enumerate(person["events"]):
        await conn.execute(
            "INSERT INTO audience_events (source_id, customer_id, name, at)"
            " VALUES ($1, $2, $3, $4)",
            f"{cid}:{i}",
            cid,
            name,
            NOW - timedelta(hours=hours_ago),
        )
    return cid
