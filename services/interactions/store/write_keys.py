"""Tracking write keys: configured ones plus those `ecrm writekey rotate` adds or retires."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import asyncpg


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class WriteKeys:
    """The database's view, reloaded at most once a second (rotation needs no restart)."""

    active: frozenset[str] = frozenset()
    retired: frozenset[str] = frozenset()
    loaded_at: float = field(default=-1.0)

    async def refresh(self, pool: asyncpg.Pool, every: float = 1.0) -> None:
        if time.monotonic() - self.loaded_at < every:
            return
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT key_hash, retired_at IS NOT NULL AND retired_at <= now() AS retired"
                " FROM write_keys"
            )
        self.active = frozenset(r["key_hash"] for r in rows if not r["retired"])
        self.retired = frozenset(r["key_hash"] for r in rows if r["retired"])
        self.loaded_at = time.monotonic()

    def allows(self, key: str, configured: list[str]) -> bool:
        digest = key_hash(key)
        if digest in self.active:
            return True
        return digest not in self.retired and key in configured


async def rotate(
    conn: asyncpg.Connection, new_key: str, old_keys: list[str], grace_s: float
) -> None:
    """Add `new_key`; every other key (stored or configured) retires after `grace_s` seconds."""
    async with conn.transaction():
        await conn.execute(
            "UPDATE write_keys SET retired_at = now() + make_interval(secs => $1)"
            " WHERE retired_at IS NULL",
            grace_s,
        )
        for old in old_keys:
            await conn.execute(
                "INSERT INTO write_keys (key_hash, retired_at)"
                " VALUES ($1, now() + make_interval(secs => $2)) ON CONFLICT (key_hash) DO UPDATE"
                " SET retired_at = LEAST(COALESCE(write_keys.retired_at, EXCLUDED.retired_at),"
                " EXCLUDED.retired_at)",
                key_hash(old), grace_s,
            )  # fmt: skip
        await conn.execute(
            "INSERT INTO write_keys (key_hash) VALUES ($1)"
            " ON CONFLICT (key_hash) DO UPDATE SET retired_at = NULL",
            key_hash(new_key),
        )
