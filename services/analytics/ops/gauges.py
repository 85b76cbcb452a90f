"""The broker figures Prometheus cannot scrape from the services themselves (consumer lag,
dead letters, health as seen from inside), refreshed from the ops snapshot and exposed on
analytics' own /metrics."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from prometheus_client import Gauge

from services.analytics.ops.collector import OpsCollector
from shared.logging import get_logger

log = get_logger(__name__)
INTERVAL_S = 10.0

CONSUMER_LAG = Gauge(
    "ecrm_consumer_lag", "records a consumer group has not yet committed", ["group", "topic"]
)
DEAD_LETTERS = Gauge("ecrm_dead_letters", "records parked on a dead-letter topic", ["topic"])
SERVICE_UP = Gauge("ecrm_service_up", "1 when the service's /healthz reports ok", ["name"])


def apply(snapshot: dict[str, Any]) -> None:
    for group in snapshot["lag"]["groups"]:
        per_topic: dict[str, int] = {}
        for part in group["partitions"]:
            per_topic[part["topic"]] = per_topic.get(part["topic"], 0) + part["lag"]
        for topic, lag in per_topic.items():
            CONSUMER_LAG.labels(group["group"], topic).set(lag)
    for topic in snapshot["dlq"]["topics"]:
        DEAD_LETTERS.labels(topic["topic"]).set(topic["count"])
    for service in snapshot["services"]:
        SERVICE_UP.labels(service["name"]).set(1 if service["status"] == "ok" else 0)


async def keep_current(collector: OpsCollector, stop: asyncio.Event) -> None:
    try:
        while not stop.is_set():
            try:
                apply(await collector.snapshot())
            except Exception as exc:  # a figure missing for a while must not end the loop
                log.warning("ops.gauges_failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), INTERVAL_S)
    finally:
        await collector.aclose()
