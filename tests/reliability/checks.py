"""One invariant's outcome, and reading a service's own database for it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from shared.db import init_connection
from shared.settings import Settings

SAMPLE = 5  # ids quoted per problem


@dataclass
class Check:
    name: str
    expected: int = 0  # accepted items this invariant looked for
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # reported as they are

    def violations(self) -> list[str]:
        out = []
        if self.lost:
            out.append(
                f"{self.name}: {len(self.lost)} accepted but missing, e.g. {self.lost[:SAMPLE]}"
            )
        if self.duplicated:
            out.append(
                f"{self.name}: {len(self.duplicated)} applied more than once, e.g. "
                f"{self.duplicated[:SAMPLE]}"
            )
        out += [f"{self.name}: {p}" for p in self.problems]
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "problems": len(self.problems),
            **self.details,
        }


def count_once(check: Check, expected: list[str], found: dict[str, int]) -> None:
    """Each expected key must be found exactly once."""
    check.expected += len(expected)
    for key in expected:
        seen = found.get(key, 0)
        if seen == 0:
            check.lost.append(key)
        elif seen > 1:
            check.duplicated.append(key)


def never_twice(check: Check, found: dict[str, int]) -> None:
    """Attempts without an answer may be there once, never twice."""
    check.duplicated += [k for k, n in found.items() if n > 1 and k not in check.duplicated]


@contextlib.asynccontextmanager
async def database(settings: Settings, service: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(settings.database_dsn(service), timeout=10)
    await init_connection(conn)  # json as Python objects, as the services read it
    try:
        yield conn
    finally:
        await conn.close()


async def table_exists(conn: asyncpg.Connection, table: str) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table))
