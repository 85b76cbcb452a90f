"""Segment membership: full builds in SQL, incremental updates with the Python evaluator.
Every change is written with its SegmentMembershipChanged event in the same transaction."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any, NamedTuple

import asyncpg

from services.campaigns.rules.evaluate import matches
from services.campaigns.rules.parse import event_depths, inline, merged_depths, windows
from services.campaigns.rules.sql import Params, compile_rule
from services.campaigns.store import audience
from shared import outbox
from shared.events.campaigns import SegmentMembershipChanged

_AT = "(SELECT $1::timestamptz AS now) t"  # the evaluation time, bound once


async def all_rules(conn: asyncpg.Connection) -> dict[str, Any]:
    rows = await conn.fetch("SELECT id, rule FROM segments")
    return {str(r["id"]): r["rule"] for r in rows}


async def matching_ids(
    conn: asyncpg.Connection,
    rule: dict[str, Any],
    now: datetime,
    among: list[uuid.UUID] | None = None,
    span: tuple[uuid.UUID, uuid.UUID] | None = None,
) -> list[uuid.UUID]:
    """The live customers an inlined rule selects (of `among`, when given; with ids above
    `span`'s first and up to its second, when given), by one SQL predicate."""
    params = Params(first=2)
    predicate = compile_rule(rule, params, "t.now")
    sql = f"SELECT a.customer_id FROM audience a, {_AT} WHERE a.live AND {predicate}"
    if among is not None:
        sql += f" AND a.customer_id = ANY({params.add(among)}::uuid[])"
    if span is not None:
        after, upto = span
        sql += f" AND a.customer_id > {params.add(after)} AND a.customer_id <= {params.add(upto)}"
    rows = await conn.fetch(sql, now, *params.values)
    return [r[0] for r in rows]


async def count_matching(conn: asyncpg.Connection, rule: dict[str, Any], now: datetime) -> int:
    params = Params(first=2)
    predicate = compile_rule(rule, params, "t.now")
    sql = f"SELECT count(*) FROM audience a, {_AT} WHERE a.live AND {predicate}"
    return await conn.fetchval(sql, now, *params.values)


async def start_build(conn: asyncpg.Connection, segment_id: uuid.UUID) -> None:
    """Build the segment in full again, from its first customer (`builds.build_chunk` does it a
    chunk at a time): on create, when its rule changes, and when it was never built."""
    await conn.execute(
        "UPDATE segments SET building_since = $2, build_cursor = NULL WHERE id = $1",
        segment_id,
        datetime.now(UTC),
    )


# Customers with an event of a window's name that left the window between two times.
_LEFT_A_WINDOW = """
SELECT DISTINCT e.customer_id
FROM unnest($1::text[], $2::int[]) AS w(name, days)
JOIN audience_events e ON e.name = w.name
 AND e.at >= $3::timestamptz - make_interval(days => w.days)
 AND e.at < $4::timestamptz - make_interval(days => w.days)
"""


async def sweep(conn: asyncpg.Connection, segment_id: uuid.UUID) -> dict[str, int]:
    """A segment with time windows as time passes (call inside a transaction). Time alone
    changes a customer's membership only when one of their events leaves a window, so only
    the customers one of whose events did since the segment was last built or swept are
    evaluated again; every other customer is as that build, sweep or their own latest event
    left them. A full rebuild read every customer each minute."""
    await audience.lock_for_build(conn)
    rules = await all_rules(conn)
    rule = inline(rules[str(segment_id)], rules)
    since, building = await conn.fetchrow(
        "SELECT built_at, building_since FROM segments WHERE id = $1", segment_id
    )
    spans = sorted(windows(rule))
    if building is not None:  # it ends with every customer as of its start, or later
        return {"entered": 0, "left": 0, "evaluated": 0}
    if since is None or not spans:
        await start_build(conn, segment_id)
        return {"entered": 0, "left": 0, "evaluated": 0}
    now = datetime.now(UTC)
    names, days = zip(*spans, strict=True)
    rows = await conn.fetch(_LEFT_A_WINDOW, list(names), list(days), since, now)
    candidates = [r[0] for r in rows]
    should = set(await matching_ids(conn, rule, now, among=candidates))
    rows = await conn.fetch(
        "SELECT customer_id FROM segment_members"
        " WHERE segment_id = $1 AND customer_id = ANY($2::uuid[])",
        segment_id,
        candidates,
    )
    entered, left = await apply_difference(conn, segment_id, should, {r[0] for r in rows}, now)
    await conn.execute("UPDATE segments SET built_at = $2 WHERE id = $1", segment_id, now)
    return {"entered": entered, "left": left, "evaluated": len(candidates)}


async def apply_difference(
    conn: asyncpg.Connection,
    segment_id: uuid.UUID,
    should: set[uuid.UUID],
    current: set[uuid.UUID],
    now: datetime,
) -> tuple[int, int]:
    """Members who should be and are not enter, members who are and should not be leave."""
    entered, left = should - current, current - should
    await _apply(
        conn,
        [(segment_id, c, "entered") for c in sorted(entered)]
        + [(segment_id, c, "left") for c in sorted(left)],
        now,
    )
    return len(entered), len(left)


Change = tuple[uuid.UUID, uuid.UUID, str]  # segment, customer, "entered" or "left"


class SegmentRules(NamedTuple):
    inlined: dict[str, Any]  # segment id -> its rule, references to other segments inlined
    event_depths: dict[str, int]  # the event names any rule asks about, how deep (`event_depths`)


async def segment_rules(conn: asyncpg.Connection) -> SegmentRules:
    """Read once per run of events under `audience.lock_for_events`: a segment build (which
    takes the lock alone) cannot change them meanwhile."""
    rules = await all_rules(conn)
    inlined = {sid: inline(rule, rules) for sid, rule in rules.items()}
    return SegmentRules(inlined, merged_depths(event_depths(r) for r in inlined.values()))


async def reevaluate(
    conn: asyncpg.Connection, customer_ids: list[str], rules: SegmentRules | None = None
) -> None:
    """After an event changed these customers: re-evaluate each against every segment. Their
    profiles and memberships are read together, and their changes written together, in the
    customers' order (a handful of statements for any number of customers)."""
    rules = rules or await segment_rules(conn)
    if not rules.inlined:
        return
    now = datetime.now(UTC)
    ids = [uuid.UUID(c) for c in dict.fromkeys(customer_ids)]
    profiles = await audience.load_profiles(conn, ids, rules.event_depths)
    current: dict[uuid.UUID, set[uuid.UUID]] = {cid: set() for cid in ids}
    for row in await conn.fetch(
        "SELECT customer_id, segment_id FROM segment_members WHERE customer_id = ANY($1::uuid[])",
        ids,
    ):
        current[row["customer_id"]].add(row["segment_id"])
    changes: list[Change] = []
    for cid in ids:
        profile = profiles.get(cid)
        should = {
            uuid.UUID(sid)
            for sid, rule in rules.inlined.items()
            if profile is not None and matches(rule, profile, now)
        }
        # In segment order, not a set's: the same changes announce in the same order.
        changes += [(segment_id, cid, "entered") for segment_id in sorted(should - current[cid])]
        changes += [(segment_id, cid, "left") for segment_id in sorted(current[cid] - should)]
    await _apply(conn, changes, now)


async def _apply(conn: asyncpg.Connection, changes: list[Change], now: datetime) -> None:
    """Memberships entered and left, their segments' counts, and SegmentMembershipChanged in
    the order given: four statements however many changes (new customers matching a segment
    enter it a wave at a time)."""
    if not changes:
        return
    entered = [(s, c) for s, c, change in changes if change == "entered"]
    left = [(s, c) for s, c, change in changes if change == "left"]
    if entered:
        await conn.execute(
            "INSERT INTO segment_members (segment_id, customer_id, entered_at)"
            " SELECT s, c, $3 FROM unnest($1::uuid[], $2::uuid[]) AS g(s, c)"
            " ON CONFLICT DO NOTHING",
            [s for s, _ in entered],
            [c for _, c in entered],
            now,
        )
    if left:
        await conn.execute(
            "DELETE FROM segment_members m USING unnest($1::uuid[], $2::uuid[]) AS g(s, c)"
            " WHERE m.segment_id = g.s AND m.customer_id = g.c",
            [s for s, _ in left],
            [c for _, c in left],
        )
    delta: Counter[uuid.UUID] = Counter()
    for segment_id, _, change in changes:
        delta[segment_id] += 1 if change == "entered" else -1
    segments = sorted(delta)
    await conn.execute(
        "UPDATE segments s SET member_count = s.member_count + d.delta"
        " FROM unnest($1::uuid[], $2::int[]) AS d(id, delta) WHERE s.id = d.id",
        segments,
        [delta[segment_id] for segment_id in segments],
    )
    await outbox.add_many(conn, [_changed(s, c, change, now) for s, c, change in changes])


def _changed(
    segment_id: uuid.UUID, customer_id: uuid.UUID, change: str, at: datetime
) -> SegmentMembershipChanged:
    return SegmentMembershipChanged(
        segment_id=str(segment_id), customer_id=str(customer_id), change=change, at=at
    )
