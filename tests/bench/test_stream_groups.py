"""The benchmark's drain waits for every consumer group of the streams it loads."""

from __future__ import annotations

import importlib

import pytest

from bench.creates import CUSTOMERS
from bench.ingest import TRACKING, Stream

SERVICES = ("contacts", "interactions", "support", "campaigns", "sales", "analytics")


@pytest.mark.parametrize("stream", [*TRACKING, CUSTOMERS], ids=lambda s: s.topic)
def test_the_bench_watches_every_reader_of_the_stream(stream: Stream):
    readers = {
        name
        for name in SERVICES
        if stream.topic in importlib.import_module(f"services.{name}.app").runtime.dispatcher.topics
    }
    assert readers == set(stream.groups)
