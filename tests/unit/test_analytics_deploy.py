"""The Prometheus scrape config and the Grafana dashboard cover every service and only use
metrics the code exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import promql_parser
import yaml
from prometheus_client import REGISTRY

import services.analytics.ops.gauges  # noqa: F401  (registers the broker gauges)
import shared.metrics  # noqa: F401
from ecrm.topology import ALL_SERVICES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def exposed_names() -> set[str]:
    names = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names.update(s.name for s in family.samples)
        if family.type == "histogram":
            names.add(f"{family.name}_bucket")
        if family.type == "counter":
            names.add(f"{family.name}_total")
    return names


def test_every_service_is_scraped_on_its_compose_host():
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "ecrm")
    targets = {t for group in job["static_configs"] for t in group["targets"]}
    assert targets == {f"{name}:8000" for name in ALL_SERVICES}
    assert job["metrics_path"] == "/metrics"


def test_dashboard_queries_use_exposed_metrics_and_cover_the_figures():
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "ecrm.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\b(ecrm_[a-z_]+)", e)}
    assert used <= exposed_names(), used - exposed_names()
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for figure in ("throughput", "lag", "outbox backlog", "dead letters", "p99", "work queues"):
        assert figure in titles
    uids = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    datasource = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    assert uids == {d["uid"] for d in datasource["datasources"]}


def test_dashboards_provider_points_at_a_folder():
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "ecrm.yml").read_text()
    )
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_alert_rules_parse_use_exposed_metrics_and_are_loaded():
    rules = yaml.safe_load((DEPLOY / "prometheus-alerts.yml").read_text())
    alerts = [r for group in rules["groups"] for r in group["rules"]]
    assert len(alerts) >= 10 and len({a["alert"] for a in alerts}) == len(alerts)
    for alert in alerts:
        promql_parser.parse(alert["expr"])  # raises on a malformed expression
        used = set(re.findall(r"\b(ecrm_[a-z_]+)", alert["expr"]))
        assert used <= exposed_names(), (alert["alert"], used - exposed_names())
        assert alert["labels"]["severity"] in {"warning", "critical"}
        assert alert["annotations"]["summary"]
    figures = " ".join(a["expr"] for a in alerts)
    for metric in ("ecrm_work_queue_oldest_seconds", "ecrm_consumer_lag", "ecrm_outbox_backlog"):
        assert metric in figures
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())
    mounts = compose["services"]["prometheus"]["volumes"]
    assert "./deploy/prometheus-alerts.yml:/etc/prometheus/alerts.yml:ro" in mounts


def test_dashboard_queries_parse():
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "ecrm.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            promql_parser.parse(target["expr"])
