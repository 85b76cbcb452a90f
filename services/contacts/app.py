"""Contacts service wiring: the customer record, consent, identities and merges."""

from __future__ import annotations

from pathlib import Path

from services.contacts import api, consumers
from shared.events import contacts as events
from shared.service import Runtime, create_app

runtime = Runtime("contacts", Path(__file__).parent / "migrations", publishes=events.EVENTS)
consumers.register(runtime)
app = create_app(runtime, [api.router], description="Customers, consent, identities and merges.")
