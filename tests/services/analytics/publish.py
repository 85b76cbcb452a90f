"""Putting events on the real topics as the owning services would: CloudEvent headers, the
contract's key, one producer for many events."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaProducer

from shared.cloudevents import headers_for
from shared.events.base import Event


def record(event: Event, event_id: uuid.UUID | None = None, at: datetime | None = None) -> dict:
    """One event as (topic, key, value, headers); the same event_id means the same event."""
    return {
        "topic": event.topic(),
        "key": event.key().encode(),
        "value": orjson.dumps(event.model_dump(mode="json")),
        "headers": headers_for(
            event_id or uuid.uuid4(),
            event.ce_type(),
            f"/{event.owner}",
            at or datetime.now(UTC),
            event.ce_subject(),
        ),
    }


async def publish(bootstrap: str, records: Iterable[dict]) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await producer.start()
    try:
        sent = [
            await producer.send(r["topic"], r["value"], key=r["key"], headers=r["headers"])
            for r in records
        ]
        for future in sent:
            await future
        return len(sent)
    finally:
        await producer.stop()


async def publish_events(
    bootstrap: str, events: Iterable[Event], at: datetime | None = None
) -> int:
    return await publish(bootstrap, (record(e, at=at) for e in events))


async def publish_raw(bootstrap: str, topic: str, value: bytes, headers: list) -> None:
    await publish(
        bootstrap, [{"topic": topic, "key": b"poison", "value": value, "headers": headers}]
    )


async def caught_up(bootstrap: str, group: str = "analytics") -> None:
    """Wait until the group has committed everything on the catalogue's topics."""
    from shared.events.catalogue import all_topics
    from shared.kafka_admin import consumer_lag
    from tests.support.events import eventually

    async def no_lag() -> bool:
        parts = await consumer_lag(bootstrap, group, all_topics(with_dlq=False))
        return bool(parts) and sum(p.lag for p in parts) == 0

    await eventually(no_lag, timeout=30, interval=0.3)
