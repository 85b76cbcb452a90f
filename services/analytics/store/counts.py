"""Events per minute, type and channel: written per batch, read as a series."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import asyncpg

_ADD = """
INSERT INTO event_counts (minute, event_type, channel, count)
SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::bigint[])
ON CONFLICT (minute, event_type, channel) DO UPDATE SET count = event_counts.count + EXCLUDED.count
"""


async def add(conn: asyncpg.Connection, counts: Counter[tuple[datetime, str, str]]) -> None:
    if not counts:
        return
    keys = sorted(counts)  # one lock order for every writer
    await conn.execute(
        _ADD,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [counts[k] for k in keys],
    )


async def per_minute_and_channel(
    conn: asyncpg.Connection, start: datetime, end: datetime, event_type: str | None
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT minute, channel, sum(count)::bigint AS count FROM event_counts"
        " WHERE minute >= $1 AND minute < $2 AND ($3::text IS NULL OR event_type = $3)"
        " GROUP BY minute, channel ORDER BY minute, channel",
        start,
        end,
        event_type,
    )
    return [dict(r) for r in rows]


async def per_type_and_channel(
    conn: asyncpg.Connection, start: datetime, end: datetime, event_type: str | None
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT event_type AS type, channel, sum(count)::bigint AS count FROM event_counts"
        " WHERE minute >= $1 AND minute < $2 AND ($3::text IS NULL OR event_type = $3)"
        " GROUP BY event_type, channel ORDER BY count DESC, event_type, channel",
        start,
        end,
        event_type,
    )
    return [dict(r) for r in rows]
