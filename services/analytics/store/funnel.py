"""The campaign funnel: one row per message, each stage stamped with its first time.

Every write is an upsert whose result does not depend on arrival order (LEAST/COALESCE), so
a message opened twice, or an open seen before its send, still counts once per stage.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from shared.events.campaigns import CampaignLaunched, MessageBounced, MessageEvent
from shared.events.contacts import ConsentChanged

ATTRIBUTION_WINDOW = timedelta(days=30)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

STAGES = frozenset({"sent_at", "opened_at", "clicked_at", "bounced_at"})
# $1 message, $2 campaign, $3 journey, $4 customer, $5 the stage's time
_STAGE = """
INSERT INTO campaign_messages (message_id, campaign_id, journey_id, customer_id, {col})
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (message_id) DO UPDATE SET
    campaign_id = COALESCE(campaign_messages.campaign_id, EXCLUDED.campaign_id),
    journey_id = COALESCE(campaign_messages.journey_id, EXCLUDED.journey_id),
    customer_id = COALESCE(campaign_messages.customer_id, EXCLUDED.customer_id),
    {col} = LEAST(campaign_messages.{col}, EXCLUDED.{col})
"""


async def record_launch(conn: asyncpg.Connection, event: CampaignLaunched) -> None:
    await conn.execute(
        "INSERT INTO campaigns (campaign_id, name, segment_id, recipients, launched_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (campaign_id) DO UPDATE SET"
        " name = EXCLUDED.name, segment_id = EXCLUDED.segment_id,"
        " recipients = EXCLUDED.recipients,"
        " launched_at = LEAST(campaigns.launched_at, EXCLUDED.launched_at)",
        event.campaign_id,
        event.name,
        event.segment_id,
        event.recipients,
        event.at,
    )


async def record_stage(conn: asyncpg.Connection, column: str, events: list[MessageEvent]) -> None:
    """Stamp `column` (sent_at, opened_at, clicked_at, bounced_at) on each message."""
    assert column in STAGES
    events = sorted(events, key=lambda e: e.message_id)  # one lock order for every writer
    await conn.executemany(
        _STAGE.format(col=column),
        [(e.message_id, e.campaign_id, e.journey_id, e.customer_id, e.at) for e in events],
    )
    if column == "sent_at":
        await _attribute_pending(conn, sorted({e.customer_id for e in events}))
    bounces = [e for e in events if isinstance(e, MessageBounced) and e.permanent]
    if bounces:
        await conn.execute(
            "UPDATE campaign_messages SET bounce_permanent = true WHERE message_id = ANY($1)",
            [e.message_id for e in bounces],
        )


async def record_unsubscribe(conn: asyncpg.Connection, event: ConsentChanged) -> bool:
    """Attribute an email unsubscribe to the message that caused it: the one named in the
    consent's source when it names one, else the customer's latest message before it.
    A customer's unsubscribe counts once, on one message."""
    message_id = await _named_message(conn, event)
    if message_id is None:
        message_id = await conn.fetchval(
            "SELECT message_id FROM campaign_messages WHERE customer_id = $1"
            " AND sent_at BETWEEN $2 AND $3 ORDER BY sent_at DESC LIMIT 1",
            event.customer_id,
            event.at - ATTRIBUTION_WINDOW,
            event.at + timedelta(minutes=5),  # tolerate clocks a little apart
        )
    if message_id is None:  # its message is not here yet: attribute it when it comes
        await conn.execute(
            "INSERT INTO pending_unsubscribes (customer_id, at) VALUES ($1, $2)"
            " ON CONFLICT (customer_id) DO UPDATE"
            " SET at = LEAST(pending_unsubscribes.at, EXCLUDED.at)",
            event.customer_id,
            event.at,
        )
        return False
    status = await conn.execute(
        "UPDATE campaign_messages SET unsubscribed_at = $2"
        " WHERE message_id = $1 AND unsubscribed_at IS NULL",
        message_id,
        event.at,
    )
    return status.endswith(" 1")


_ATTRIBUTE_PENDING = """
WITH found AS (
    SELECT DISTINCT ON (p.customer_id) p.customer_id, p.at, m.message_id
    FROM pending_unsubscribes p JOIN campaign_messages m ON m.customer_id = p.customer_id
    WHERE p.customer_id = ANY($1::text[])
      AND m.sent_at BETWEEN p.at - $2::interval AND p.at + interval '5 minutes'
    ORDER BY p.customer_id, m.sent_at DESC
), marked AS (
    UPDATE campaign_messages m SET unsubscribed_at = found.at FROM found
    WHERE m.message_id = found.message_id AND m.unsubscribed_at IS NULL
)
DELETE FROM pending_unsubscribes p USING found WHERE p.customer_id = found.customer_id
"""


async def _attribute_pending(conn: asyncpg.Connection, customer_ids: list[str]) -> None:
    await conn.execute(_ATTRIBUTE_PENDING, customer_ids, ATTRIBUTION_WINDOW)


async def _named_message(conn: asyncpg.Connection, event: ConsentChanged) -> str | None:
    candidates = _UUID.findall(event.source or "")
    if not candidates:
        return None
    return await conn.fetchval(
        "SELECT message_id FROM campaign_messages WHERE message_id = ANY($1) AND customer_id = $2"
        " LIMIT 1",
        candidates,
        event.customer_id,
    )


_FIGURES = """
count(sent_at) AS sent,
count(*) FILTER (WHERE opened_at IS NOT NULL OR clicked_at IS NOT NULL) AS opened,
count(clicked_at) AS clicked,
count(unsubscribed_at) AS unsubscribed,
count(bounced_at) AS bounced,
min(sent_at) AS first_sent_at,
max(GREATEST(sent_at, opened_at, clicked_at, unsubscribed_at, bounced_at)) AS last_activity_at
"""


async def campaign_page(
    conn: asyncpg.Connection, limit: int, after: tuple[datetime, str] | None
) -> list[dict[str, Any]]:
    """Campaigns with messages, most recent first (keyset on first send time, id)."""
    rows = await conn.fetch(
        f"""
        WITH figures AS (
            SELECT campaign_id, {_FIGURES} FROM campaign_messages
            WHERE campaign_id IS NOT NULL GROUP BY campaign_id
        )
        SELECT f.*, c.name, c.segment_id, c.recipients, c.launched_at,
               COALESCE(c.launched_at, f.first_sent_at, 'epoch') AS sort_at
        FROM figures f LEFT JOIN campaigns c USING (campaign_id)
        WHERE $1::timestamptz IS NULL
           OR (COALESCE(c.launched_at, f.first_sent_at, 'epoch'), f.campaign_id) < ($1, $2)
        ORDER BY sort_at DESC, campaign_id DESC LIMIT $3
        """,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [dict(r) for r in rows]


async def one_campaign(conn: asyncpg.Connection, campaign_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"""
        SELECT $1::text AS campaign_id, c.name, c.segment_id, c.recipients, c.launched_at, f.*
        FROM (SELECT {_FIGURES} FROM campaign_messages WHERE campaign_id = $1) f
        LEFT JOIN campaigns c ON c.campaign_id = $1
        """,
        campaign_id,
    )
    if row is None or (row["sent"] == 0 and row["launched_at"] is None and row["opened"] == 0):
        return None
    return dict(row)


async def totals(conn: asyncpg.Connection, since: datetime) -> dict[str, Any]:
    """Every message sent since `since`, campaigns and journeys together."""
    row = await conn.fetchrow(
        f"SELECT {_FIGURES} FROM campaign_messages WHERE sent_at >= $1", since
    )
    return dict(row)


async def journeys(conn: asyncpg.Connection, since: datetime) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT journey_id, {_FIGURES} FROM campaign_messages"
        " WHERE journey_id IS NOT NULL AND sent_at >= $1 GROUP BY journey_id ORDER BY sent DESC",
        since,
    )
    return [dict(r) for r in rows]
