"""Support service wiring: tickets over the API and email, SLAs, CSAT, knowledge base."""

from __future__ import annotations

from pathlib import Path

from services.support import api, consumers, privacy, queues
from services.support.config import get_support_settings
from services.support.mail.inbound import serve
from services.support.mail.outbound import run_sender
from services.support.sla_timer import run_sla_timer
from shared.events import support as events
from shared.events.privacy import ANSWERS
from shared.service import Runtime, create_app

runtime = Runtime(
    "support",
    Path(__file__).parent / "migrations",
    publishes=(*events.EVENTS, *ANSWERS["support"]),
)
support_settings = get_support_settings()
consumers.register(runtime)
queues.register(runtime)
privacy.register(runtime)


def _pool():  # type: ignore[no-untyped-def]
    return runtime.db


runtime.background(
    lambda stop: serve(
        _pool,
        runtime.settings.inbound_smtp_host,
        runtime.settings.inbound_smtp_port,
        support_settings,
        stop,
    )
)
runtime.background(lambda stop: run_sender(_pool, runtime.settings.smtp, support_settings, stop))
runtime.background(lambda stop: run_sla_timer(_pool, support_settings.sla_tick_seconds, stop))
app = create_app(
    runtime,
    api.routers,
    description="Tickets over the API and email, SLA policies, CSAT and a knowledge base.",
)
