"""Topic creation, consumer lag and the size of the log, working around what the embedded
broker lacks.

Tansu cannot answer `list_consumer_group_offsets`, so lag is read the portable way: an
unsubscribed consumer in the group asks `committed(tp)` per partition, and `log_ends` gives the
high-water marks (Tansu's own answer to `end_offsets` falls short by a record batch, less one).
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
        tps = await _partitions(consumer, topics)
        if not tps:
            return []
        ends = await log_ends(bootstrap, tps)
        committed = await asyncio.gather(*(consumer.committed(tp) for tp in tps))
        return [
            PartitionLag(group, tp.topic, tp.partition, c if c is not None else 0, ends[tp])
            for tp, c in zip(tps, committed, strict=True)
        ]
    finally:
        await consumer.stop()


async def events_held(bootstrap: str, topics: list[str]) -> int:
    """How many records the broker holds on `topics`, all together."""
    return sum((await records_held(bootstrap, topics)).values())


async def records_held(bootstrap: str, topics: list[str]) -> dict[str, int]:
    """How many records the broker holds on each of `topics`: per partition, its end offset
    less its log start (what retention has not removed; the embedded broker removes nothing)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = await _partitions(consumer, topics)
        counts = dict.fromkeys(topics, 0)
        if tps:
            starts = await consumer.beginning_offsets(tps)
            ends = await log_ends(bootstrap, tps)
            for tp in tps:
                counts[tp.topic] += max(0, ends[tp] - starts[tp])
        return counts
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    """Every partition of the topics that exist (a missing topic has none)."""
    tps = []
    for topic in topics:
        parts = consumer.partitions_for_topic(topic)
        if parts is None:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        tps.extend(TopicPartition(topic, p) for p in sorted(parts))
    return tps


async def log_ends(
    bootstrap: str, tps: list[TopicPartition], timeout_s: float = 5.0
) -> dict[TopicPartition, int]:
    """Each partition's end: the offset its next record will get.

    The embedded broker answers `end_offsets` with the base offset of the partition's last
    record batch plus one (a batch of 100 records at offsets 0-99 reads as an end of 1). So the
    records from that offset less one are fetched, and the end is the last one's offset plus
    one; on Kafka that is what `end_offsets` said. A consumer of its own does the fetching: a
    connection with a fetch in flight answers nothing else until the fetch returns."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        if pending:
            consumer.assign(sorted(pending))
            for tp in pending:
                consumer.seek(tp, ends[tp] - 1)
            await _fetch_last_records(consumer, pending, ends, timeout_s)
        return ends
    finally:
        await consumer.stop()


async def _fetch_last_records(
    consumer: AIOKafkaConsumer,
    pending: set[TopicPartition],
    ends: dict[TopicPartition, int],
    timeout_s: float,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while pending and (left := deadline - loop.time()) > 0:
        fetched = await consumer.getmany(*pending, timeout_ms=int(left * 1000))
        for tp, records in fetched.items():
            if records:
                ends[tp] = max(ends[tp], records[-1].offset + 1)
                pending.discard(tp)
