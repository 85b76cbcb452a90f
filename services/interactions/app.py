"""Interactions service wiring: the web and store channels, identity stitching, the unified
timeline and customer metrics."""

from __future__ import annotations

from pathlib import Path

from services.interactions import (
    consumers,
    metrics_refresh,
    orders_api,
    privacy,
    queues,
    stitch_followup,
    timeline_api,
    tracking_api,
)
from shared.events import interactions as events
from shared.events.privacy import ANSWERS
from shared.overload import InFlight
from shared.service import Runtime, create_app

runtime = Runtime(
    "interactions",
    Path(__file__).parent / "migrations",
    publishes=(*events.EVENTS, *ANSWERS["interactions"]),
)
consumers.register(runtime)
queues.register(runtime)
runtime.background(lambda stop: metrics_refresh.run(lambda: runtime.db, stop))
runtime.background(
    lambda stop: stitch_followup.run(lambda: runtime.db, lambda: runtime.consumer is not None, stop)
)
privacy.register(runtime)
app = create_app(
    runtime,
    [tracking_api.router, orders_api.router, timeline_api.router],
    description="Web (Segment HTTP Tracking API) and store channels, the unified customer "
    "timeline and customer metrics.",
)
app.state.tracking_in_flight = InFlight(runtime.settings.tracking_max_in_flight)
