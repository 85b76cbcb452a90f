"""Delivery and engagement figures of a campaign or a journey."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

_STATS = """
WITH m AS (SELECT id, status FROM messages WHERE {column} = $1)
SELECT
  (SELECT count(*) FROM m) AS recipients,
  (SELECT count(*) FROM m WHERE status IN ('sent', 'bounced')) AS sent,
  (SELECT count(*) FROM m WHERE status = 'sent') AS delivered,
  (SELECT count(*) FROM m WHERE status = 'bounced') AS bounced,
  (SELECT count(DISTINCT o.message_id) FROM opens o JOIN m ON m.id = o.message_id) AS opened,
  (SELECT count(*) FROM opens o JOIN m ON m.id = o.message_id) AS opens,
  (SELECT count(DISTINCT c.message_id) FROM clicks c JOIN m ON m.id = c.message_id) AS clicked,
  (SELECT count(*) FROM clicks c JOIN m ON m.id = c.message_id) AS clicks,
  (SELECT count(*) FROM unsubscribes u JOIN m ON m.id = u.message_id) AS unsubscribed,
  (SELECT count(*) FROM confirmations c JOIN m ON m.id = c.message_id) AS confirmed,
  (SELECT count(*) FROM m WHERE status IN ('pending', 'sending')) AS pending,
  (SELECT count(*) FROM m WHERE status = 'skipped') AS skipped,
  (SELECT count(*) FROM m WHERE status = 'failed') AS failed,
  (SELECT count(*) FROM m WHERE status = 'unknown') AS unknown
"""


async def of_campaign(conn: asyncpg.Connection, campaign_id: uuid.UUID) -> dict[str, Any]:
    row = await conn.fetchrow(_STATS.format(column="campaign_id"), campaign_id)
    return dict(row)


async def of_journey(conn: asyncpg.Connection, journey_id: uuid.UUID) -> dict[str, Any]:
    row = await conn.fetchrow(_STATS.format(column="journey_id"), journey_id)
    return dict(row)


# A campaign's page follows its unique (campaign_id, customer_id) index, which launches write
# anyway; a journey's, (journey_id, id). The cursor starts below every uuid instead of being
# NULL: under a generic plan `$2 IS NULL OR key > $2` walks the index from its start every page.
PAGE_KEY = {"campaign_id": "customer_id", "journey_id": "id"}
_BEFORE_ALL = uuid.UUID(int=0)


async def messages_page(
    conn: asyncpg.Connection,
    column: str,
    owner_id: uuid.UUID,
    after: uuid.UUID | None,
    limit: int,
) -> list[Any]:
    key = PAGE_KEY[column]
    return await conn.fetch(
        f"SELECT * FROM messages WHERE {column} = $1 AND {key} > $2 ORDER BY {key} LIMIT $3",
        owner_id,
        after or _BEFORE_ALL,
        limit + 1,
    )
