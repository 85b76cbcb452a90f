"""Incremental scores (the store's updates on the real PostgreSQL) equal a recomputation from
the full history with the pure scoring function, on randomised streams with replays, merges,
decay and negative points. Each example runs in a transaction that is rolled back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.sales.domain.scoring import Entry, Signal, normalise_track_name, qualifies, score_of
from services.sales.store import rules, scoring

NOW = datetime(2030, 6, 1, tzinfo=UTC)
THRESHOLD = 60.0

rule_specs = st.lists(
    st.tuples(st.integers(-40, 40), st.one_of(st.none(), st.floats(0.5, 10))),
    min_size=1,
    max_size=4,
)
# (rule index or None for an unscored name, customer 0/1, age in days)
event_specs = st.lists(
    st.tuples(st.one_of(st.none(), st.integers(0, 3)), st.integers(0, 1), st.floats(0, 20)),
    min_size=1,
    max_size=25,
)
# the stream: indexes into the events (repeats are replays), cut into batches; maybe a merge
streams = st.tuples(
    st.lists(st.integers(0, 24), min_size=1, max_size=40),
    st.lists(st.integers(1, 6), min_size=1, max_size=10),
    st.one_of(st.none(), st.integers(0, 40)),
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rule_specs=rule_specs, event_specs=event_specs, stream=streams)
async def test_incremental_scores_equal_recomputation(
    infra, sales, rule_specs, event_specs, stream
):
    conn = await asyncpg.connect(infra.dsn("sales"))
    await conn.set_type_codec(  # as the service's pool does: the outbox holds jsonb
        "jsonb",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )
    tx = conn.transaction()
    await tx.start()
    try:
        await _check(conn, rule_specs, event_specs, stream)
    finally:
        await tx.rollback()
        await conn.close()


async def _check(conn, rule_specs, event_specs, stream) -> None:
    await rules.set_threshold(conn, THRESHOLD)
    tag = uuid.uuid4().hex[:10]
    names = [f"prop {tag} {i}" for i in range(len(rule_specs))]
    for name, (points, decay) in zip(names, rule_specs, strict=True):
        await rules.create(conn, "track", normalise_track_name(name), points, decay)
    customers = [uuid.uuid4(), uuid.uuid4()]
    events = [
        Signal(
            str(uuid.uuid4()),
            str(customers[who]),
            "track",
            normalise_track_name(
                names[r] if r is not None and r < len(names) else f"unscored {tag}"
            ),
            NOW - timedelta(days=age),
            "x",
        )
        for r, who, age in event_specs
    ]
    order, cuts, merge_at = stream
    sequence = [events[i % len(events)] for i in order]

    seen: list[Signal] = []
    merged = False
    ever_qualified: set[uuid.UUID] = set()
    position = 0
    for cut in [*cuts, len(sequence)]:
        if merge_at is not None and not merged and position >= merge_at:
            await scoring.merge(conn, customers[0], customers[1], NOW)
            merged = True
            ever_qualified |= _qualified_now(expected(seen, names, rule_specs, customers, merged))
        batch = sequence[position : position + cut]
        position += cut
        await scoring.record_signals(conn, batch, NOW)
        seen += batch
        ever_qualified |= _qualified_now(expected(seen, names, rule_specs, customers, merged))
        if position >= len(sequence):
            break

    want = expected(seen, names, rule_specs, customers, merged)
    got = await scoring.scores_of(conn, customers, NOW)
    for customer in customers:
        if customer in want:
            assert abs(got.get(customer, 0.0) - want[customer]) < 0.02, (customer, got, want)
            assert abs(await _recomputed(conn, customer) - want[customer]) < 0.02
        else:
            assert got.get(customer, 0.0) == 0.0
    qualified = {
        r["customer_id"]
        for r in await conn.fetch(
            "SELECT customer_id FROM lead_qualifications WHERE customer_id = ANY($1::uuid[])",
            customers,
        )
    }
    assert qualified == ever_qualified
    emitted = await conn.fetchval(
        "SELECT count(*) FROM outbox WHERE ce_type = 'ecrm.sales.LeadQualified.v1'"
        " AND key = ANY($1::text[])",
        [str(c) for c in customers],
    )
    assert emitted == len(qualified)


def expected(seen, names, rule_specs, customers, merged) -> dict[uuid.UUID, float]:
    """The pure model: each event once, its rule's points, folded into the survivor on merge."""
    by_name = {normalise_track_name(n): spec for n, spec in zip(names, rule_specs, strict=True)}
    entries: dict[uuid.UUID, dict[str, Entry]] = {}
    for signal in seen:
        spec = by_name.get(signal.value)
        if spec is None:
            continue
        owner = uuid.UUID(signal.customer_id)
        if merged and owner == customers[1]:
            owner = customers[0]
        entries.setdefault(owner, {}).setdefault(
            signal.event_id, Entry(spec[0], spec[1], signal.occurred_at)
        )
    return {c: score_of(e.values(), NOW) for c, e in entries.items()}


def _qualified_now(scores: dict[uuid.UUID, float]) -> set[uuid.UUID]:
    return {c for c, s in scores.items() if qualifies(s, THRESHOLD)}


async def _recomputed(conn, customer: uuid.UUID) -> float:
    rows = await conn.fetch(
        "SELECT points, decay_per_day, occurred_at FROM score_history WHERE customer_id = $1",
        customer,
    )
    return score_of([Entry(r["points"], r["decay_per_day"], r["occurred_at"]) for r in rows], NOW)
