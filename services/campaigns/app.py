"""Campaigns service wiring: audience projection, segments, campaigns, journeys, tracking."""

from __future__ import annotations

from pathlib import Path

from services.campaigns import consumers, privacy, queues
from services.campaigns.api import campaigns, journeys, segments, tracking
from services.campaigns.config import get_campaign_settings
from services.campaigns.sending import scheduler
from services.campaigns.sending.sender import Sender
from shared.events import campaigns as events
from shared.events.privacy import ANSWERS
from shared.service import Runtime, create_app

runtime = Runtime(
    "campaigns",
    Path(__file__).parent / "migrations",
    publishes=events.EVENTS + events.REQUESTS + ANSWERS["campaigns"],
)
settings = get_campaign_settings()
consumers.register(runtime)
queues.register(runtime)
privacy.register(runtime)  # erasure, export, unmerge
runtime.background(lambda stop: Sender(runtime, settings).run(stop))
runtime.background(lambda stop: scheduler.run(runtime, settings, stop))
app = create_app(
    runtime,
    [segments.router, campaigns.router, journeys.router, tracking.router],
    description="Real-time segments, email campaigns with tracking and consent, journeys.",
)
