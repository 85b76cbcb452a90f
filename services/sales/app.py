"""Sales service wiring: accounts, lead scoring from the stream, deals through pipelines."""

from __future__ import annotations

from pathlib import Path

from services.sales import api, consumers, privacy
from shared.events import sales as events
from shared.events.privacy import ANSWERS
from shared.service import Runtime, create_app

runtime = Runtime(
    "sales", Path(__file__).parent / "migrations", publishes=(*events.EVENTS, *ANSWERS["sales"])
)
consumers.register(runtime)
privacy.register(runtime)
app = create_app(
    runtime,
    api.ROUTERS,
    description="Accounts, lead scoring from the event stream, and deals through pipelines.",
)
