"""Consumers skip FastStream's per-record header dicts; the message they get must otherwise be
the one FastStream's batch parser makes (it commits offsets through its consumer)."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord
from faststream.kafka.message import KafkaAckableMessage
from faststream.kafka.parser import AioKafkaBatchParser

from shared.consuming import records_as_they_are


def _record(offset: int) -> ConsumerRecord:
    return ConsumerRecord(
        topic="ecrm.interactions.interaction", partition=3, offset=offset, timestamp=1700,
        timestamp_type=0, key=b"k", value=b"{}", checksum=None, serialized_key_size=1,
        serialized_value_size=2, headers=[("ce_id", b"x"), ("ce_type", b"t")],
    )  # fmt: skip


async def test_the_message_is_faststreams_without_the_header_dicts():
    parser = AioKafkaBatchParser(msg_class=KafkaAckableMessage, regex=None)
    consumer = object()
    parser._setup(consumer)  # type: ignore[arg-type]
    records = (_record(10), _record(11), _record(12))
    theirs = await parser.parse_batch(records)
    ours = await records_as_they_are(records, parser.parse_batch)
    assert type(ours) is type(theirs) is KafkaAckableMessage
    assert ours.raw_message is records and ours.consumer is consumer is theirs.consumer
    assert ours.message_id == theirs.message_id == "10-12-1700"
    assert ours.path == theirs.path and ours.committed is theirs.committed is None
    assert theirs.batch_headers and not ours.batch_headers  # what is saved
