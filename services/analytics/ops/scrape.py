"""Reading a service's Prometheus text: the counters and gauges the ops figures need (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families


@dataclass
class ServiceMetrics:
    """One scrape of one service's /metrics."""

    outbox_backlog: float | None = None
    published: float = 0.0
    relay_errors: float = 0.0
    consumed: float = 0.0
    duplicates: float = 0.0
    consumer_errors: float = 0.0
    dead_lettered: float = 0.0
    http_requests: float = 0.0
    http_5xx: float = 0.0
    dead_lettered_by_topic: dict[str, float] = field(default_factory=dict)
    queues: dict[str, dict[str, float | None]] = field(default_factory=dict)

    def counters(self) -> dict[str, float]:
        return {
            "published": self.published,
            "relay_errors": self.relay_errors,
            "consumed": self.consumed,
            "consumer_errors": self.consumer_errors,
            "dead_lettered": self.dead_lettered,
            "http_requests": self.http_requests,
            "http_5xx": self.http_5xx,
        }


def parse(text: str, service: str) -> ServiceMetrics:
    """Sum the samples labelled with `service` (a process only reports itself, but be sure)."""
    out = ServiceMetrics()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("service", service) != service:
                continue
            _take(out, sample.name, sample.labels, sample.value)
    return out


def _take(out: ServiceMetrics, name: str, labels: dict[str, str], value: float) -> None:
    if name == "ecrm_outbox_backlog":
        out.outbox_backlog = (out.outbox_backlog or 0) + value
    elif name == "ecrm_outbox_published_total":
        out.published += value
    elif name == "ecrm_outbox_relay_errors_total":
        out.relay_errors += value
    elif name == "ecrm_events_consumed_total":
        if labels.get("outcome") == "duplicate":
            out.duplicates += value
        else:
            out.consumed += value
    elif name == "ecrm_consumer_errors_total":
        out.consumer_errors += value
    elif name == "ecrm_events_dead_lettered_total":
        out.dead_lettered += value
        topic = labels.get("topic", "unknown")
        out.dead_lettered_by_topic[topic] = out.dead_lettered_by_topic.get(topic, 0) + value
    elif name in ("ecrm_work_queue", "ecrm_work_queue_oldest_seconds"):
        queue = out.queues.setdefault(
            labels.get("queue", "unknown"), {"waiting": None, "oldest_s": None}
        )
        queue["waiting" if name == "ecrm_work_queue" else "oldest_s"] = value
    elif name == "ecrm_http_requests_total":
        out.http_requests += value
        if labels.get("status", "").startswith("5"):
            out.http_5xx += value


def rates(
    now: dict[str, float], before: dict[str, float] | None, seconds: float
) -> dict[str, float | None]:
    """Per-second rates between two scrapes; a counter that went down was reset (a restart):
    its new value is what happened since."""
    if before is None or seconds <= 0:
        return {f"{k}_per_s": None for k in now}
    out: dict[str, float | None] = {}
    for key, value in now.items():
        previous = before.get(key, 0.0)
        delta = value - previous if value >= previous else value
        out[f"{key}_per_s"] = round(delta / seconds, 3)
    return out
