"""Segments: create, change, delete, list, members."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.campaigns.rules.parse import RuleError, find_cycle, inline, segment_refs, validate
from services.campaigns.store import audience, builds, membership
from shared.errors import conflict, invalid, not_found
from shared.ids import uuid7


def public(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "rule": row["rule"],
        "member_count": row["member_count"],
        "status": "building" if row["building_since"] else "built",
        "built_at": row["built_at"].isoformat() if row["built_at"] else None,
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


def checked_rule(rule: Any, rules: dict[str, Any], path: str = "rule") -> None:
    """Validate a rule and its references; a 422 naming the bad node."""
    try:
        validate(rule, path)
    except RuleError as exc:
        raise invalid(exc.path, exc.message) from None
    for ref, ref_path in segment_refs(rule, path):
        if ref not in rules:
            raise invalid(ref_path, f"segment {ref} does not exist")


async def create(conn: asyncpg.Connection, name: str, rule: Any, chunk: int) -> dict[str, Any]:
    """The segment, with the first `chunk` customers of its build done (all of them in a
    deployment with fewer): the scheduler does the rest (`builds`)."""
    async with conn.transaction():
        rules = await membership.all_rules(conn)
        checked_rule(rule, rules)
        segment_id = uuid7()
        await conn.execute(
            "INSERT INTO segments (id, name, rule) VALUES ($1, $2, $3)", segment_id, name, rule
        )
        await builds.begin(conn, segment_id, chunk)
        return public(await fetch(conn, segment_id))


async def update(
    conn: asyncpg.Connection, segment_id: uuid.UUID, name: str | None, rule: Any, chunk: int
) -> dict[str, Any]:
    """A new rule builds the segment again, and every segment that references it: the first
    `chunk` customers of each in the request, as on create."""
    async with conn.transaction():
        if rule is not None:  # before any segment's row, as event handlers take them
            await audience.lock_for_build(conn)
        row = await fetch(conn, segment_id, lock=True)
        if rule is not None:
            rules = await membership.all_rules(conn)
            checked_rule(rule, rules)
            cycle = find_cycle(str(segment_id), rule, rules)
            if cycle:
                path = _first_ref_path(rule, cycle[1])
                raise invalid(path, "segment references form a cycle: " + " -> ".join(cycle))
        await conn.execute(
            "UPDATE segments SET name = COALESCE($2, name), rule = COALESCE($3, rule),"
            " updated_at = now() WHERE id = $1",
            segment_id,
            name,
            rule,
        )
        if rule is not None and rule != row["rule"]:
            for dependent in await _dependents(conn, segment_id):
                await builds.begin(conn, dependent, chunk)
        return public(await fetch(conn, segment_id))


def _first_ref_path(rule: Any, ref: str) -> str:
    return next((path for r, path in segment_refs(rule) if r == ref), "rule")


async def _dependents(conn: asyncpg.Connection, segment_id: uuid.UUID) -> list[uuid.UUID]:
    """The segment and every segment that references it, directly or not."""
    rules = await membership.all_rules(conn)
    target = {"segment": str(segment_id)}
    out = [segment_id]
    for sid, rule in rules.items():
        if sid != str(segment_id) and _reaches(rule, rules, target["segment"]):
            out.append(uuid.UUID(sid))
    return out


def _reaches(rule: Any, rules: dict[str, Any], target: str, depth: int = 0) -> bool:
    for ref, _ in segment_refs(rule):
        if ref == target or (
            depth < 64 and ref in rules and _reaches(rules[ref], rules, target, depth + 1)
        ):
            return True
    return False


async def delete(conn: asyncpg.Connection, segment_id: uuid.UUID) -> None:
    async with conn.transaction():
        await fetch(conn, segment_id, lock=True)
        rules = await membership.all_rules(conn)
        users = [
            sid
            for sid, r in rules.items()
            if any(ref == str(segment_id) for ref, _ in segment_refs(r))
        ]
        if users:
            raise conflict(f"segment is referenced by segment(s) {', '.join(users)}")
        if await conn.fetchval("SELECT 1 FROM campaigns WHERE segment_id = $1 LIMIT 1", segment_id):
            raise conflict("segment is used by a campaign")
        await conn.execute("DELETE FROM segments WHERE id = $1", segment_id)


async def fetch(
    conn: asyncpg.Connection, segment_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(f"SELECT * FROM segments WHERE id = $1{suffix}", segment_id)
    if row is None:
        raise not_found("segment", segment_id)
    return row


async def list_page(
    conn: asyncpg.Connection, after: uuid.UUID | None, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM segments WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
        after,
        limit + 1,
    )
    return [public(r) for r in rows]


async def members_page(
    conn: asyncpg.Connection, segment_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> list[dict[str, Any]]:
    await fetch(conn, segment_id)
    rows = await conn.fetch(
        "SELECT m.customer_id, m.entered_at, a.email, a.first_name, a.last_name"
        " FROM segment_members m LEFT JOIN audience a USING (customer_id)"
        " WHERE m.segment_id = $1 AND ($2::uuid IS NULL OR m.customer_id > $2)"
        " ORDER BY m.customer_id LIMIT $3",
        segment_id,
        after,
        limit + 1,
    )
    return [
        {
            "customer_id": str(r["customer_id"]),
            "email": r["email"],
            "first_name": r["first_name"],
            "last_name": r["last_name"],
            "entered_at": r["entered_at"].isoformat(),
        }
        for r in rows
    ]


async def preview(conn: asyncpg.Connection, rule: Any) -> int:
    rules = await membership.all_rules(conn)
    checked_rule(rule, rules)
    return await membership.count_matching(conn, inline(rule, rules), datetime.now(UTC))
