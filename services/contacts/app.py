"""Contacts service wiring: the customer record, consent, identities and merges."""

from __future__ import annotations

from pathlib import Path

from services.contacts import api, consumers, import_api, privacy_api, privacy_consumers, queues
from shared.events import contacts as events
from shared.events.privacy import ANSWERS, CustomerErased, CustomersUnmerged, ExportRequested
from shared.service import Runtime, create_app

runtime = Runtime(
    "contacts",
    Path(__file__).parent / "migrations",
    publishes=(
        *events.EVENTS,
        CustomerErased,
        ExportRequested,
        CustomersUnmerged,
        ANSWERS["contacts"][0],
    ),
)
consumers.register(runtime)
queues.register(runtime)
privacy_consumers.register(runtime)
app = create_app(
    runtime,
    [api.router, import_api.router, privacy_api.router],
    description="Customers, consent, identities and merges; privacy requests.",
)
