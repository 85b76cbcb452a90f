"""Topic creation and consumer-lag reading, working around what the embedded broker lacks.

Tansu cannot answer `list_consumer_group_offsets`, so lag is read the portable way: an
unsubscribed consumer in the group asks `committed(tp)` per partition; `end_offsets` gives the
high-water marks.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


async def ensure_topics(bootstrap: str, topics: list[str], partitions: int = 8) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            new = [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing]
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
        return missing
    finally:
        await admin.close()


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - max(self.committed, 0))


async def consumer_lag(bootstrap: str, group: str, topics: list[str]) -> list[PartitionLag]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = []
        for topic in topics:
            parts = consumer.partitions_for_topic(topic)
            if parts is None:
                await consumer._client.force_metadata_update()
                parts = consumer.partitions_for_topic(topic) or set()
            tps.extend(TopicPartition(topic, p) for p in sorted(parts))
        if not tps:
            return []
        ends = await consumer.end_offsets(tps)
        committed = await asyncio.gather(*(consumer.committed(tp) for tp in tps))
        return [
            PartitionLag(group, tp.topic, tp.partition, c if c is not None else 0, ends[tp])
            for tp, c in zip(tps, committed, strict=True)
        ]
    finally:
        await consumer.stop()
