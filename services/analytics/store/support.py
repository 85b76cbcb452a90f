"""Support figures: one row per ticket (first response, breach, rating) and resolutions per day.

Ticket events are keyed by customer once known and by ticket before, so they can arrive out of
order: every write is an upsert whose result does not depend on the order.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from shared.events.support import SatisfactionRated, SlaBreached, TicketOpened

_OPENED = """
INSERT INTO tickets (ticket_id, channel, priority, opened_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (ticket_id) DO UPDATE SET channel = EXCLUDED.channel, priority = EXCLUDED.priority,
    opened_at = LEAST(tickets.opened_at, EXCLUDED.opened_at)
"""
_FIRST_RESPONSE = """
INSERT INTO tickets (ticket_id, first_response_at) VALUES ($1, $2)
ON CONFLICT (ticket_id) DO UPDATE
    SET first_response_at = LEAST(tickets.first_response_at, EXCLUDED.first_response_at)
"""
_BREACHED = """
WITH new AS (
    INSERT INTO sla_breaches (ticket_id, target, breached_at) VALUES ($1, $2, $3)
    ON CONFLICT DO NOTHING RETURNING ticket_id
)
INSERT INTO tickets (ticket_id, sla_breached_at) VALUES ($1, $3)
ON CONFLICT (ticket_id) DO UPDATE
    SET sla_breached_at = LEAST(tickets.sla_breached_at, EXCLUDED.sla_breached_at)
"""
_RATED = """
INSERT INTO tickets (ticket_id, rating, rated_at) VALUES ($1, $2, $3)
ON CONFLICT (ticket_id) DO UPDATE SET rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at
    WHERE tickets.rated_at IS NULL OR tickets.rated_at <= EXCLUDED.rated_at
"""
_RESOLVED = """
INSERT INTO ticket_resolutions (day, count) SELECT * FROM unnest($1::date[], $2::bigint[])
ON CONFLICT (day) DO UPDATE SET count = ticket_resolutions.count + EXCLUDED.count
"""


async def record_opened(conn: asyncpg.Connection, events: list[TicketOpened]) -> None:
    await conn.executemany(
        _OPENED, [(e.ticket_id, e.channel, e.priority, e.opened_at) for e in events]
    )


async def record_first_responses(
    conn: asyncpg.Connection, responses: list[tuple[str, datetime]]
) -> None:
    await conn.executemany(_FIRST_RESPONSE, sorted(responses))


async def record_resolutions(conn: asyncpg.Connection, per_day: dict[date, int]) -> None:
    days = sorted(per_day)
    if days:
        await conn.execute(_RESOLVED, days, [per_day[d] for d in days])


async def record_breaches(conn: asyncpg.Connection, events: list[SlaBreached]) -> None:
    await conn.executemany(_BREACHED, [(e.ticket_id, e.target, e.breached_at) for e in events])


async def record_ratings(conn: asyncpg.Connection, events: list[SatisfactionRated]) -> None:
    await conn.executemany(_RATED, [(e.ticket_id, e.rating, e.at) for e in events])


async def daily(conn: asyncpg.Connection, start: datetime, end: datetime) -> dict[date, dict]:
    """Per UTC day of [start, end): tickets opened, resolutions, SLA breaches."""
    rows = await conn.fetch(
        """
        SELECT day, sum(opened)::bigint AS opened, sum(resolved)::bigint AS resolved,
               sum(breached)::bigint AS sla_breaches
        FROM (
            SELECT (opened_at AT TIME ZONE 'UTC')::date AS day, 1 AS opened, 0 AS resolved,
                   0 AS breached FROM tickets WHERE opened_at >= $1 AND opened_at < $2
            UNION ALL
            SELECT day, 0, count, 0 FROM ticket_resolutions
            WHERE day >= (($1::timestamptz) AT TIME ZONE 'UTC')::date
              AND day < (($2::timestamptz) AT TIME ZONE 'UTC')::date
            UNION ALL
            SELECT (breached_at AT TIME ZONE 'UTC')::date, 0, 0, 1 FROM sla_breaches
            WHERE breached_at >= $1 AND breached_at < $2
        ) facts GROUP BY day
        """,
        start,
        end,
    )
    return {r["day"]: {k: int(r[k]) for k in ("opened", "resolved", "sla_breaches")} for r in rows}


async def window_figures(conn: asyncpg.Connection, start: datetime, end: datetime) -> dict:
    """Tickets opened in [start, end) (first response, breach, channel) and the CSAT of the
    ratings given in it."""
    opened = await conn.fetch(
        "SELECT channel, priority, opened_at, first_response_at, sla_breached_at FROM tickets"
        " WHERE opened_at >= $1 AND opened_at < $2",
        start,
        end,
    )
    csat = await conn.fetchrow(
        "SELECT count(*) AS responses, avg(rating)::float AS average FROM tickets"
        " WHERE rating IS NOT NULL AND rated_at >= $1 AND rated_at < $2",
        start,
        end,
    )
    return {"tickets": [dict(r) for r in opened], "csat": dict(csat)}
