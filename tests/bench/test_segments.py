"""The segments `make profile SEGMENTS=n` defines are rules the API accepts, reading the events
the bench's load sends."""

from __future__ import annotations

from bench import payloads, segments
from services.campaigns.rules.parse import event_depths, merged_depths, validate


def test_every_typical_segment_is_a_valid_rule_and_reads_the_load_s_events():
    for rule in segments.TYPICAL:
        validate(rule)
    read = set(merged_depths(event_depths(rule) for rule in segments.TYPICAL))
    assert set(payloads.EVENTS) <= read
