"""The relays' record batches travel, and sit on the broker, snappy-compressed: the embedded
broker keeps every batch in memory as it arrives."""

from __future__ import annotations

import random

import orjson
from aiokafka.record.default_records import DefaultRecordBatch
from aiokafka.record.memory_records import MemoryRecords

from bench import payloads
from shared.relay import make_producer


async def test_a_relay_batch_is_snappy_compressed_and_reads_back_whole():
    producer = make_producer("127.0.0.1:9")  # not started: building a batch needs no broker
    calls = payloads.batch(200, random.Random(3))["batch"]
    batch = producer.create_batch()
    for call in calls:
        batch.append(key=b"anon-1", value=orjson.dumps(call), timestamp=None, headers=[])
    built = bytes(batch._build())  # what `send_batch` hands the broker
    read = MemoryRecords(built).next_batch()
    assert read.compression_type == DefaultRecordBatch.CODEC_SNAPPY
    assert [orjson.loads(r.value) for r in read] == calls
    uncompressed = sum(len(orjson.dumps(c)) for c in calls)
    assert len(built) < uncompressed / 3, (len(built), uncompressed)
