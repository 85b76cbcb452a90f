"""A service's consumer: its topics read through FastStream, batch by batch, into the dispatcher.

One process per service consumes (elected on a PostgreSQL lock, see `Runtime`), so the consumer
takes every partition of its topics itself (`assign`) instead of joining a Kafka group. Offsets
are still committed under the service's group id, and tools read the lag there. Joining a group
cost every start a rebalance: on the embedded broker at least five seconds, after a crash the
old member's session timeout as well, and in `make chaos` a join sometimes never completed
(bench/RESULTS.md, run 37).
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage, TopicPartition

from shared.messaging import EventDispatcher

BATCH_TIMEOUT_MS = 50


def register(
    broker: KafkaBroker,
    name: str,
    dispatcher: EventDispatcher,
    batch_size: int,
    partitions: list[TopicPartition] | None = None,
) -> None:
    """The service's subscriber on `broker`: on its assigned `partitions` when consuming; by
    topic (never started) where the subscriber only describes the service (AsyncAPI)."""
    where: dict[str, Any] = {"partitions": partitions} if partitions is not None else {}
    topics = () if partitions is not None else sorted(dispatcher.topics)

    @broker.subscriber(
        *topics,
        **where,
        group_id=name,
        batch=True,
        max_records=batch_size,
        batch_timeout_ms=BATCH_TIMEOUT_MS,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        parser=records_as_they_are,
        decoder=the_records,
        title=f"{name}:consumer",
        description=f"the {name} service's consumer",
    )
    async def consume(records: tuple[Any, ...]) -> None:
        await dispatcher.apply_records(records)


async def partitions_of(producer: AIOKafkaProducer, topics: set[str]) -> list[TopicPartition]:
    """Every partition of the topics, as the broker knows them now (a partition added later is
    read after the next election)."""
    found: list[TopicPartition] = []
    for topic in sorted(topics):
        numbers = sorted(await producer.partitions_for(topic))
        found += [TopicPartition(topic, p, declare=False) for p in numbers]
    return found


async def records_as_they_are(records: tuple[Any, ...], batch_parser: Any) -> Any:
    """FastStream's own batch message, without the dict of every record's headers its parser
    builds (5-7 % of a consumer's time) and nothing reads: the dispatcher reads the records.
    `batch_parser` is the subscriber's parse method; its parser knows the message class (the
    one that commits offsets) and the consumer. A test holds this to FastStream's result."""
    parser = batch_parser.__self__
    first, last = records[0], records[-1]
    return parser.msg_class(
        body=[],
        headers={},
        batch_headers=[],
        reply_to="",
        content_type=None,
        message_id=f"{first.offset}-{last.offset}-{first.timestamp}",
        raw_message=records,
        path={},
        consumer=parser._consumer,
    )


async def the_records(msg: KafkaMessage) -> tuple[Any, ...]:
    """The handler's argument: the batch's records themselves. Bodies are parsed by the
    dispatcher, record by record: one unreadable record must be dead-lettered, not fail the
    whole batch inside the framework (and loop forever)."""
    return msg.raw_message
