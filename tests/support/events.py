"""Reading and writing the real event log in tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.cloudevents import Envelope, headers_for
from shared.events.base import Event
from shared.kafka_admin import log_ends


async def read_topic(
    bootstrap: str, topic: str, timeout: float = 2.0
) -> list[tuple[object, Envelope | None]]:
    """Every record on the topic from the beginning: (raw record, parsed envelope or None)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        ends = await log_ends(bootstrap, tps)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[tuple[object, Envelope | None]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    try:
                        out.append((r, Envelope.from_record(r)))
                    except ValueError:
                        out.append((r, None))
            positions = {tp: await consumer.position(tp) for tp in tps}
            if all(positions[tp] >= ends[tp] for tp in tps):
                break
        return out
    finally:
        await consumer.stop()


async def wait_for_events(
    bootstrap: str,
    topic: str,
    match: Callable[[Envelope], bool],
    count: int = 1,
    timeout: float = 20.0,
) -> list[tuple[object, Envelope]]:
    deadline = time.monotonic() + timeout
    found: list[tuple[object, Envelope]] = []
    while time.monotonic() < deadline:
        found = [
            (r, e) for r, e in await read_topic(bootstrap, topic) if e is not None and match(e)
        ]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.3)
    raise AssertionError(f"{len(found)} of {count} expected events on {topic} within {timeout}s")


async def produce(bootstrap: str, topic: str, value: bytes | dict, key: str, headers: list) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await producer.start()
    try:
        body = orjson.dumps(value) if isinstance(value, dict) else value
        await producer.send_and_wait(topic, body, key=key.encode(), headers=headers)
    finally:
        await producer.stop()


async def publish(bootstrap: str, event: Event, event_id: uuid.UUID | None = None) -> uuid.UUID:
    """Produce `event` as its owner's relay would (CloudEvents headers, its key); give the same
    `event_id` again to replay it."""
    event_id = event_id or uuid.uuid4()
    headers = headers_for(
        event_id, event.ce_type(), f"/ecrm/{event.owner}", datetime.now(UTC), event.ce_subject()
    )
    await produce(bootstrap, event.topic(), event.model_dump(mode="json"), event.key(), headers)
    return event_id


def envelope_of(event: Event) -> Envelope:
    """`event` as a consumer reads it (what `publish` would produce), for calling a handler
    directly."""
    return Envelope(
        id=str(uuid.uuid4()), type=event.ce_type(), source=f"/ecrm/{event.owner}",
        subject=event.ce_subject(), time=datetime.now(UTC), key=event.key(),
        data=event.model_dump(mode="json"), topic=event.topic(), partition=0, offset=0,
    )  # fmt: skip


async def eventually(check: Callable, timeout: float = 20.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    """Poll an async or sync check until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
