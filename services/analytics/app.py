"""Analytics service wiring: every topic into aggregates, the ops figures and the dashboard."""

from __future__ import annotations

from pathlib import Path

from services.analytics import api, consumers, dashboard, ops_api
from services.analytics.ops import gauges
from services.analytics.ops.collector import OpsCollector
from shared.events import privacy
from shared.service import Runtime, create_app

runtime = Runtime(
    "analytics",
    Path(__file__).parent / "migrations",
    publishes=privacy.ANSWERS["analytics"],
)
consumers.register(runtime)
app = create_app(
    runtime,
    [api.router, ops_api.router, dashboard.router],
    description="Live figures from every service's events, the ops figures and the ops dashboard.",
)
collector = OpsCollector(runtime.settings)
app.state.ops = collector
runtime.background(lambda stop: gauges.keep_current(collector, stop))
dashboard.mount_static(app)
