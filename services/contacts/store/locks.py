"""The advisory locks that serialise the writes about one person: a key per address and per
identity, taken together and in order (so two writers never wait on each other in a cycle)."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg


def person_keys(email: str | None, identities: Iterable[tuple[str, str]]) -> set[str]:
    keys = {f"{kind}:{value}" for kind, value in identities}
    if email:
        keys.add(f"email:{email}")
    return keys


async def lock_keys(conn: asyncpg.Connection, keys: set[str]) -> None:
    """Held to the end of the caller's transaction."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest($1::text[]) AS k", sorted(keys)
    )
