"""Prometheus figures every service exposes at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "ecrm_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "ecrm_http_request_seconds",
    "HTTP request latency",
    ["service", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RELAY_PUBLISHED = Counter("ecrm_outbox_published_total", "outbox rows published", ["service"])
RELAY_ERRORS = Counter("ecrm_outbox_relay_errors_total", "relay publish failures", ["service"])
RELAY_ROUNDS = Counter(
    "ecrm_outbox_relay_rounds_total",
    "relay rounds that published rows (one record batch per partition)",
    ["service"],
)
RELAY_FLOOR_PASSED = Counter(
    "ecrm_outbox_floor_passed_unpublished_total",
    "rows found unpublished below the relay's floor, then published (the floor's proof failed)",
    ["service"],
)
OUTBOX_BACKLOG = Gauge("ecrm_outbox_backlog", "unpublished outbox rows", ["service"])
WORK_QUEUE = Gauge(
    "ecrm_work_queue", "rows waiting in one of a service's own work queues", ["service", "queue"]
)
WORK_QUEUE_OLDEST = Gauge(
    "ecrm_work_queue_oldest_seconds",
    "how long the oldest ready row of a work queue has waited",
    ["service", "queue"],
)
EVENTS_CONSUMED = Counter(
    "ecrm_events_consumed_total", "events handled", ["service", "consumer", "outcome"]
)
CONSUMER_ERRORS = Counter(
    "ecrm_consumer_errors_total", "failed attempts to apply an event", ["service", "consumer"]
)
DEAD_LETTERED = Counter("ecrm_events_dead_lettered_total", "events parked", ["service", "topic"])
