"""Revoked token ids, kept in each service's own database and cached in memory."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import asyncpg

from shared.db import UNAVAILABLE


class RevocationList:
    def __init__(self) -> None:
        self.revoked: frozenset[str] = frozenset()

    def __contains__(self, jti: object) -> bool:
        return jti in self.revoked

    async def load(self, pool: asyncpg.Pool) -> None:
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT jti FROM revoked_tokens WHERE expires_at IS NULL OR expires_at > now()"
            )
        self.revoked = frozenset(r["jti"] for r in rows)

    async def keep_loading(
        self, pool: asyncpg.Pool, stop: asyncio.Event, every: float = 1.0
    ) -> None:
        while not stop.is_set():
            with contextlib.suppress(*UNAVAILABLE, asyncpg.PostgresError):
                await self.load(pool)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)


async def revoke(conn: asyncpg.Connection, jti: str, expires_at: datetime | None) -> None:
    await conn.execute(
        "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
        jti,
        expires_at.astimezone(UTC) if expires_at else None,
    )
