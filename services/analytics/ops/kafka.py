"""Broker figures for ops: consumer lag per group and partition, dead-letter counts."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer

from shared.kafka_admin import consumer_lag, records_held

TIMEOUT_S = 5.0


async def group_lag(bootstrap: str, group: str, topics: list[str]) -> dict[str, Any]:
    """The group's lag on its topics; only partitions that ever held a record are listed."""
    try:
        parts = await asyncio.wait_for(consumer_lag(bootstrap, group, topics), TIMEOUT_S)
    except Exception as exc:  # the broker or the group is unreachable: say so, keep going
        return {"group": group, "total": None, "partitions": [], "error": type(exc).__name__}
    return {
        "group": group,
        "total": sum(p.lag for p in parts),
        "partitions": [
            {
                "topic": p.topic,
                "partition": p.partition,
                "committed": max(p.committed, 0),
                "end": p.end,
                "lag": p.lag,
            }
            for p in parts
            if p.end > 0
        ],
    }


async def dead_letter_counts(bootstrap: str) -> dict[str, int]:
    """Records on every `<topic>.dlq` topic the broker has (end minus start offsets)."""
    return await asyncio.wait_for(_dead_letter_counts(bootstrap), TIMEOUT_S)


async def _dead_letter_counts(bootstrap: str) -> dict[str, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        topics = sorted(t for t in await consumer.topics() if t.endswith(".dlq"))
    finally:
        await consumer.stop()
    return await records_held(bootstrap, topics) if topics else {}
