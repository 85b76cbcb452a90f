"""Lag and the size of the log count every record, however the records were batched: the
embedded broker answers `end_offsets` with the base offset of the last record batch plus one,
which the relay's batches (hundreds of records each) made read as an end of 1."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaProducer, TopicPartition

from shared.kafka_admin import consumer_lag, ensure_topics, events_held, log_ends


async def _one_then_a_batch(bootstrap: str, topic: str, batched: int) -> None:
    """A record in a batch of its own, then `batched` records sent as one record batch."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=200)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"y", partition=0)
        sent = [await producer.send(topic, b"x", partition=0) for _ in range(batched)]
        await producer.flush()
        assert {(await s).offset for s in sent} == set(range(1, batched + 1))
    finally:
        await producer.stop()


async def test_lag_and_log_size_count_every_record_of_a_batch(infra):
    topic = f"probe.log-ends.{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra.bootstrap, [topic], partitions=1)
    tp = TopicPartition(topic, 0)
    assert (await log_ends(infra.bootstrap, [tp]))[tp] == 0  # empty: nothing to fetch
    await _one_then_a_batch(infra.bootstrap, topic, 25)
    assert (await log_ends(infra.bootstrap, [tp]))[tp] == 26
    assert await events_held(infra.bootstrap, [topic]) == 26
    (lag,) = await consumer_lag(infra.bootstrap, f"nobody-{uuid.uuid4().hex[:8]}", [topic])
    assert (lag.committed, lag.end, lag.lag) == (0, 26, 26)
