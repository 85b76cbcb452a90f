"""The benchmark's "keeps up" waits for every consumer group of the interaction stream."""

from __future__ import annotations

import importlib

from bench.ingest import STREAM_GROUPS, TOPIC

SERVICES = ("contacts", "interactions", "support", "campaigns", "sales", "analytics")


def test_the_bench_watches_every_reader_of_the_interaction_stream():
    readers = {
        name
        for name in SERVICES
        if TOPIC in importlib.import_module(f"services.{name}.app").runtime.dispatcher.topics
    }
    assert readers == set(STREAM_GROUPS)
