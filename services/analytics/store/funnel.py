"""The campaign funnel: one row per message, each stage stamped with its first time.

Every write is an upsert whose result does not depend on arrival order (LEAST/COALESCE), so
a message opened twice, or an open seen before its send, still counts once per stage.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from shared.events.campaigns import CampaignLaunched, MessageBounced, MessageEvent
from shared.events.contacts import ConsentChanged

ATTRIBUTION_WINDOW = timedelta(days=30)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

STAGES = frozenset({"sent_at", "opened_at", "clicked_at", "bounced_at"})

# A statement that changes message rows reads them first, `before AS (SELECT _ROW ... FROM
# campaign_messages WHERE ...)`, changes them, `changed AS (... RETURNING message_id, _ROW)`,
# and ends with _COUNT_CHANGES: each changed row's part of the figures as it is now is added,
# as it was taken away. The statement's CTEs share one snapshot, so `before` is the rows as they
# were; analytics' one consumer is their one writer, so nothing changes them in between.
_ROW = "campaign_id, journey_id, sent_at, opened_at, clicked_at, unsubscribed_at, bounced_at"


def _row_of(alias: str) -> str:
    return ", ".join(f"{alias}.{column}" for column in _ROW.split(", "))


_COUNT_CHANGES = f"""
, sides AS (
  SELECT 1 AS sign, {_ROW} FROM changed
  UNION ALL
  SELECT -1, {_row_of("b")}
  FROM before b JOIN changed USING (message_id)
), counted AS (
  INSERT INTO funnel_figures AS f (campaign_id, journey_id, day, sent, opened, clicked,
                                   unsubscribed, bounced, first_sent_at, last_activity_at)
  SELECT COALESCE(campaign_id, ''), COALESCE(journey_id, ''),
         COALESCE((sent_at AT TIME ZONE 'UTC')::date, '-infinity'),
         sum(sign * (sent_at IS NOT NULL)::int),
         sum(sign * (opened_at IS NOT NULL OR clicked_at IS NOT NULL)::int),
         sum(sign * (clicked_at IS NOT NULL)::int),
         sum(sign * (unsubscribed_at IS NOT NULL)::int),
         sum(sign * (bounced_at IS NOT NULL)::int),
         min(sent_at) FILTER (WHERE sign = 1),
         max(GREATEST(sent_at, opened_at, clicked_at, unsubscribed_at, bounced_at))
           FILTER (WHERE sign = 1)
  FROM sides GROUP BY 1, 2, 3
  ON CONFLICT (campaign_id, journey_id, day) DO UPDATE SET
    sent = f.sent + EXCLUDED.sent, opened = f.opened + EXCLUDED.opened,
    clicked = f.clicked + EXCLUDED.clicked, unsubscribed = f.unsubscribed + EXCLUDED.unsubscribed,
    bounced = f.bounced + EXCLUDED.bounced,
    first_sent_at = LEAST(f.first_sent_at, EXCLUDED.first_sent_at),
    last_activity_at = GREATEST(f.last_activity_at, EXCLUDED.last_activity_at)
)
SELECT count(*) FROM changed
"""

# $1.. $5: message, campaign, journey and customer ids, the stage's times (one a message: a
# batch's repeats of a message are one row, its earliest time).
_STAGE = (
    """
WITH incoming AS (
  SELECT message_id, min(campaign_id) AS campaign_id, min(journey_id) AS journey_id,
         min(customer_id) AS customer_id, min(at) AS at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
    AS e(message_id, campaign_id, journey_id, customer_id, at)
  GROUP BY message_id
), before AS (
  SELECT message_id, {row} FROM campaign_messages
  WHERE message_id IN (SELECT message_id FROM incoming)
), changed AS (
  INSERT INTO campaign_messages AS m (message_id, campaign_id, journey_id, customer_id, {col})
  SELECT message_id, campaign_id, journey_id, customer_id, at FROM incoming ORDER BY message_id
  ON CONFLICT (message_id) DO UPDATE SET
    campaign_id = COALESCE(m.campaign_id, EXCLUDED.campaign_id),
    journey_id = COALESCE(m.journey_id, EXCLUDED.journey_id),
    customer_id = COALESCE(m.customer_id, EXCLUDED.customer_id),
    {col} = LEAST(m.{col}, EXCLUDED.{col})
  RETURNING message_id, {row}
)"""
    + _COUNT_CHANGES
)


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
    await conn.fetchval(
        _STAGE.format(col=column, row=_ROW),
        [e.message_id for e in events],
        [e.campaign_id for e in events],
        [e.journey_id for e in events],
        [e.customer_id for e in events],
        [e.at for e in events],
    )  # rows are written in message order: one lock order for every writer
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
    changed = await conn.fetchval(_UNSUBSCRIBE, message_id, event.at)
    return changed == 1


_UNSUBSCRIBE = (
    """
WITH before AS (
  SELECT message_id, {row} FROM campaign_messages WHERE message_id = $1
), changed AS (
  UPDATE campaign_messages SET unsubscribed_at = $2
  WHERE message_id = $1 AND unsubscribed_at IS NULL
  RETURNING message_id, {row}
)"""
    + _COUNT_CHANGES
).format(row=_ROW)

_ATTRIBUTE_PENDING = (
    """
WITH found AS (
    SELECT DISTINCT ON (p.customer_id) p.customer_id, p.at, m.message_id
    FROM pending_unsubscribes p JOIN campaign_messages m ON m.customer_id = p.customer_id
    WHERE p.customer_id = ANY($1::text[])
      AND m.sent_at BETWEEN p.at - $2::interval AND p.at + interval '5 minutes'
    ORDER BY p.customer_id, m.sent_at DESC
), attributed AS (
    DELETE FROM pending_unsubscribes p USING found WHERE p.customer_id = found.customer_id
), before AS (
    SELECT message_id, {row} FROM campaign_messages
    WHERE message_id IN (SELECT message_id FROM found)
), changed AS (
    UPDATE campaign_messages m SET unsubscribed_at = found.at FROM found
    WHERE m.message_id = found.message_id AND m.unsubscribed_at IS NULL
    RETURNING m.message_id, {prefixed}
)"""
    + _COUNT_CHANGES
).format(row=_ROW, prefixed=_row_of("m"))


async def _attribute_pending(conn: asyncpg.Connection, customer_ids: list[str]) -> None:
    await conn.fetchval(_ATTRIBUTE_PENDING, customer_ids, ATTRIBUTION_WINDOW)


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
COALESCE(sum(sent), 0)::bigint AS sent,
COALESCE(sum(opened), 0)::bigint AS opened,
COALESCE(sum(clicked), 0)::bigint AS clicked,
COALESCE(sum(unsubscribed), 0)::bigint AS unsubscribed,
COALESCE(sum(bounced), 0)::bigint AS bounced,
min(first_sent_at) AS first_sent_at,
max(last_activity_at) AS last_activity_at
"""


async def campaign_page(
    conn: asyncpg.Connection, limit: int, after: tuple[datetime, str] | None
) -> list[dict[str, Any]]:
    """Campaigns with messages, most recent first (keyset on first send time, id)."""
    rows = await conn.fetch(
        f"""
        WITH figures AS (
            SELECT campaign_id, {_FIGURES} FROM funnel_figures
            WHERE campaign_id <> '' GROUP BY campaign_id
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
        FROM (SELECT {_FIGURES} FROM funnel_figures WHERE campaign_id = $1) f
        LEFT JOIN campaigns c ON c.campaign_id = $1
        """,
        campaign_id,
    )
    if row is None or (row["sent"] == 0 and row["launched_at"] is None and row["opened"] == 0):
        return None
    return dict(row)


async def totals(conn: asyncpg.Connection, since: date) -> dict[str, Any]:
    """Every message sent on `since` (a UTC day) or after, campaigns and journeys together."""
    row = await conn.fetchrow(f"SELECT {_FIGURES} FROM funnel_figures WHERE day >= $1", since)
    return dict(row)


async def journeys(conn: asyncpg.Connection, since: date) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT journey_id, {_FIGURES} FROM funnel_figures"
        " WHERE journey_id <> '' AND day >= $1 GROUP BY journey_id ORDER BY sent DESC",
        since,
    )
    return [dict(r) for r in rows]
