"""The embedded Tansu broker: ready, every catalogue topic created, re-created after a crash."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from ecrm.embedded import broker
from ecrm.embedded.supervisor import Supervisor
from shared.events.catalogue import all_topics
from shared.settings import Settings


async def partition_counts(bootstrap: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(await admin.list_topics())
    finally:
        await admin.close()
    return {d["topic"]: len(d["partitions"]) for d in described}


async def counts_or_nothing(bootstrap: str) -> dict[str, int]:
    try:
        return await partition_counts(bootstrap)
    except KafkaError:
        return {}


async def test_topics_exist_with_the_configured_partitions(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(topic_partitions=3)
    bootstrap = f"127.0.0.1:{settings.embedded_kafka_port}"
    sup = Supervisor(settings.home / "run", settings.home / "logs")
    try:
        await sup.start(broker.broker_spec(settings))
        counts = await partition_counts(bootstrap)
        expected = all_topics()
        assert expected and any(t.endswith(".dlq") for t in expected)
        assert {t: counts.get(t) for t in expected} == dict.fromkeys(expected, 3)
        topic = expected[0]
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
        await producer.start()
        await producer.send_and_wait(topic, b"hello", key=b"k")
        await producer.stop()
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
        )
        await consumer.start()
        batch = await consumer.getmany(timeout_ms=5000)
        await consumer.stop()
        assert [r.value for records in batch.values() for r in records] == [b"hello"]
    finally:
        await sup.stop()


async def test_topics_are_recreated_after_a_broker_crash(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(topic_partitions=2)
    bootstrap = f"127.0.0.1:{settings.embedded_kafka_port}"
    sup = Supervisor(settings.home / "run", settings.home / "logs")
    try:
        child = await sup.start(broker.broker_spec(settings))
        first = child.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        counts: dict[str, int] = {}
        for _ in range(100):
            await asyncio.sleep(0.1)
            counts = await counts_or_nothing(bootstrap)
            if child.pid != first and set(all_topics()) <= set(counts):
                break
        assert child.crashes[0].exit_code == -signal.SIGKILL
        assert {t: counts.get(t) for t in all_topics()} == dict.fromkeys(all_topics(), 2)
    finally:
        await sup.stop()
