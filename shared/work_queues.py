"""A service's own work queues as Prometheus gauges: how many rows wait in each, and how long
the oldest ready one has waited.

A queue is one statement answering one row, `(waiting, oldest_s)`; `oldest_s` is NULL when the
queue is empty or its rows do not say when they became ready (no age gauge is set then).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from shared import metrics

# A queue's count reads its rows: 81 ms for 600,000 mails due. Scrapes come every few seconds
# (the ops page's every 3 s), so a process reads its queues at most this often.
EVERY_S = 5.0


@dataclass(frozen=True)
class WorkQueue:
    name: str
    sql: str


async def refresh(conn: asyncpg.Connection, service: str, queues: list[WorkQueue]) -> None:
    for queue in queues:
        waiting, oldest_s = await conn.fetchrow(queue.sql)
        metrics.WORK_QUEUE.labels(service, queue.name).set(waiting)
        if oldest_s is not None or waiting == 0:
            metrics.WORK_QUEUE_OLDEST.labels(service, queue.name).set(max(0.0, oldest_s or 0.0))
