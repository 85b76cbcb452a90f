"""Reading the services' Prometheus text and turning counters into rates."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from services.analytics.ops import scrape


def exposition() -> str:
    registry = CollectorRegistry()
    backlog = Gauge("ecrm_outbox_backlog", "b", ["service"], registry=registry)
    published = Counter("ecrm_outbox_published_total", "p", ["service"], registry=registry)
    relay = Counter("ecrm_outbox_relay_errors_total", "r", ["service"], registry=registry)
    consumed = Counter(
        "ecrm_events_consumed_total", "c", ["service", "consumer", "outcome"], registry=registry
    )
    errors = Counter("ecrm_consumer_errors_total", "e", ["service", "consumer"], registry=registry)
    parked = Counter(
        "ecrm_events_dead_lettered_total", "d", ["service", "topic"], registry=registry
    )
    http = Counter(
        "ecrm_http_requests_total", "h", ["service", "method", "route", "status"], registry=registry
    )
    queue = Gauge("ecrm_work_queue", "q", ["service", "queue"], registry=registry)
    oldest = Gauge("ecrm_work_queue_oldest_seconds", "o", ["service", "queue"], registry=registry)
    backlog.labels("support").set(7)
    queue.labels("support", "replies_due").set(5)
    oldest.labels("support", "replies_due").set(42.5)
    queue.labels("support", "replies_retrying").set(2)  # rows that carry no time: no age
    queue.labels("other", "mails_due").set(9)
    published.labels("support").inc(120)
    relay.labels("support").inc(2)
    consumed.labels("support", "support", "applied").inc(50)
    consumed.labels("support", "support", "duplicate").inc(3)
    errors.labels("support", "support").inc(4)
    parked.labels("support", "ecrm.contacts.customer").inc(1)
    http.labels("support", "GET", "/api/v1/tickets", "200").inc(90)
    http.labels("support", "POST", "/api/v1/tickets", "503").inc(2)
    http.labels("other", "GET", "/x", "500").inc(9)  # another service's label: not ours
    return generate_latest(registry).decode()


def test_parse_sums_the_figures_of_the_service():
    figures = scrape.parse(exposition(), "support")
    assert figures.outbox_backlog == 7
    assert figures.published == 120 and figures.relay_errors == 2
    assert figures.consumed == 50 and figures.duplicates == 3
    assert figures.consumer_errors == 4 and figures.dead_lettered == 1
    assert figures.dead_lettered_by_topic == {"ecrm.contacts.customer": 1}
    assert figures.http_requests == 92 and figures.http_5xx == 2
    assert figures.queues == {
        "replies_due": {"waiting": 5, "oldest_s": 42.5},
        "replies_retrying": {"waiting": 2, "oldest_s": None},
    }


def test_parse_of_a_service_without_figures():
    figures = scrape.parse("", "contacts")
    assert figures.outbox_backlog is None and figures.counters()["published"] == 0


def test_rates_between_two_scrapes_survive_a_restart():
    before = {"relay_errors": 10.0, "consumed": 100.0}
    now = {"relay_errors": 14.0, "consumed": 30.0}  # consumed went down: the process restarted
    assert scrape.rates(now, before, 2.0) == {"relay_errors_per_s": 2.0, "consumed_per_s": 15.0}
    assert scrape.rates(now, None, 0) == {"relay_errors_per_s": None, "consumed_per_s": None}
