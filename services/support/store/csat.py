"""Customer satisfaction: one rating per resolved ticket, through a signed link."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.support.store.rows import csat_of, get_or_404
from shared import outbox
from shared.errors import conflict
from shared.events.support import SatisfactionRated

RATEABLE = ("resolved", "closed")


async def survey(conn: asyncpg.Connection, ticket_id: uuid.UUID) -> dict[str, Any]:
    """What the rating page shows: the ticket's subject and whether it was rated."""
    ticket = await get_or_404(conn, ticket_id)
    return {
        "ticket_ref": ticket["ref"],
        "subject": ticket["subject"],
        "status": ticket["status"],
        "rateable": ticket["status"] in RATEABLE,
        "rating": await csat_of(conn, ticket_id),
    }


async def rate(
    conn: asyncpg.Connection, ticket_id: uuid.UUID, rating: int, comment: str | None
) -> dict[str, Any]:
    async with conn.transaction():
        ticket = await get_or_404(conn, ticket_id, lock=True)
        if ticket["status"] not in RATEABLE:
            raise conflict("the ticket is not resolved yet", field="status")
        now = datetime.now(UTC)
        inserted = await conn.fetchval(
            "INSERT INTO csat_ratings (ticket_id, rating, comment, rated_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (ticket_id) DO NOTHING RETURNING 1",
            ticket_id,
            rating,
            comment,
            now,
        )
        if inserted is None:
            raise conflict("this ticket was already rated", field="rating")
        await outbox.add(
            conn,
            SatisfactionRated(
                ticket_id=str(ticket_id),
                customer_id=str(ticket["customer_id"]) if ticket["customer_id"] else None,
                rating=rating,
                comment=comment,
                at=now,
            ),
        )
    return {
        "ticket_ref": ticket["ref"],
        "rating": rating,
        "comment": comment,
        "rated_at": now.isoformat(),
    }
