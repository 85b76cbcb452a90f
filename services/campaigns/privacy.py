"""Campaigns answers privacy requests: erasure, export and unmerge (see store/privacy.py).

An erased address is never mailed again: the erasure records its hash in `erased_subjects`,
the sender checks every recipient's hash there before a mail goes out, and the platform's guard
drops any later event that carries the address or the erased id."""

from __future__ import annotations

import uuid

import asyncpg

from services.campaigns.store import audience, membership
from services.campaigns.store import privacy as store
from shared.cloudevents import Envelope
from shared.events.privacy import CustomerErased, CustomersUnmerged, ExportRequested
from shared.privacy import answer_erasure, answer_export, erased_hashes, erased_ids
from shared.service import Runtime

SERVICE = "campaigns"


def register(runtime: Runtime) -> None:
    @runtime.on(CustomerErased)
    async def erase(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomerErased.model_validate(env.data)
        await audience.lock_for_events(conn)
        await store.erase(conn, event.customer_id, erased_ids(event), erased_hashes(event))
        await answer_erasure(conn, SERVICE, event)

    @runtime.on(ExportRequested)
    async def export(conn: asyncpg.Connection, env: Envelope) -> None:
        event = ExportRequested.model_validate(env.data)
        await answer_export(conn, SERVICE, event, await store.section(conn, erased_ids(event)))

    @runtime.on(CustomersUnmerged)
    async def unmerge(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomersUnmerged.model_validate(env.data)
        await audience.lock_for_events(conn)
        await store.unmerge(conn, uuid.UUID(event.customer_id), uuid.UUID(event.restored_id))
        await membership.reevaluate(conn, [event.customer_id, event.restored_id])
