"""Which reads an index serves: run the code on a connection that EXPLAINs every statement it
sends first, with sequential scans and sorts turned off. A plan that still needs one has no
index for it (PostgreSQL 18 marks the node `Disabled`; 17, docker-compose's and the test
containers', adds a penalty to its cost)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import asyncpg

_PLANNED = ("SELECT", "WITH", "UPDATE", "DELETE", "INSERT")


class Explaining:
    """Stands in for an asyncpg connection; `plans` holds (statement, plan) of what was sent."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.plans: list[tuple[str, dict[str, Any]]] = []

    async def fetch(self, sql: str, *args: Any, **kw: Any) -> Any:
        await self._explain(sql, args)
        return await self.conn.fetch(sql, *args, **kw)

    async def fetchrow(self, sql: str, *args: Any, **kw: Any) -> Any:
        await self._explain(sql, args)
        return await self.conn.fetchrow(sql, *args, **kw)

    async def fetchval(self, sql: str, *args: Any, **kw: Any) -> Any:
        await self._explain(sql, args)
        return await self.conn.fetchval(sql, *args, **kw)

    async def execute(self, sql: str, *args: Any, **kw: Any) -> Any:
        await self._explain(sql, args)
        return await self.conn.execute(sql, *args, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)

    async def _explain(self, sql: str, args: tuple[Any, ...]) -> None:
        if not sql.lstrip().upper().startswith(_PLANNED):
            return
        found = await self.conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
        plan = json.loads(found) if isinstance(found, str) else found  # the pool decodes json
        self.plans.append((sql, plan[0]["Plan"]))

    def disabled(self, tables: set[str] | None = None) -> list[tuple[str, str, str]]:
        """(node, relation, statement) of every node that needed a scan or sort turned off;
        with `tables`, only sequential scans of those tables."""
        found = []
        for sql, plan in self.plans:
            for node in _nodes(plan):
                if not _disabled(node):
                    continue
                relation = node.get("Relation Name", "")
                if tables is None or relation in tables:
                    found.append((node["Node Type"], relation, " ".join(sql.split())[:160]))
        return found

    def indexes_on(self, table: str) -> set[str | None]:
        """The indexes the plans read `table` through (None: a sequential scan)."""
        found: set[str | None] = set()
        for _, plan in self.plans:
            for node in _nodes(plan):
                if node.get("Relation Name") != table:
                    continue
                if node["Node Type"] == "Bitmap Heap Scan":
                    found |= {n["Index Name"] for n in _nodes(node) if "Index Name" in n}
                else:
                    found.add(node.get("Index Name"))
        return found


_DISABLE_COST = 1.0e10  # what PostgreSQL before 18 adds to the cost of a path turned off


def _disabled(node: dict[str, Any]) -> bool:
    """PostgreSQL 18 marks the node; before it, the node whose own cost the penalty is in."""
    if "Disabled" in node:
        return bool(node["Disabled"])
    children = node.get("Plans", ())
    return node["Total Cost"] >= _DISABLE_COST and all(
        c["Total Cost"] < _DISABLE_COST for c in children
    )


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


async def without_scans_and_sorts(conn: asyncpg.Connection) -> Explaining:
    await conn.execute("SET enable_seqscan = off; SET enable_sort = off")
    return Explaining(conn)
