"""The relay places a key where the Kafka clients' default partitioner would."""

from __future__ import annotations

import uuid

from aiokafka.partitioner import DefaultPartitioner

from shared.relay import partition_for


def test_keys_land_on_the_default_partitioners_partition():
    for _ in range(500):
        key = str(uuid.uuid4()).encode()
        for count in (1, 3, 8):
            expected = DefaultPartitioner()(key, list(range(count)), list(range(count)))
            assert partition_for(key, count) == expected
