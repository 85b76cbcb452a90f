"""Support answers privacy requests: erasure, export and unmerge (see store/privacy.py).

`register` must run after every other handler of the service: it also installs the erasure
guard that drops events naming an erased person."""

from __future__ import annotations

import uuid

import asyncpg

from services.support.domain import normalise_email
from services.support.store import privacy as store
from services.support.store import requesters
from shared.cloudevents import Envelope
from shared.events.privacy import CustomerErased, CustomersUnmerged, ExportRequested
from shared.privacy import answer_erasure, answer_export, erased_hashes, erased_ids, guard_erased
from shared.service import Runtime

SERVICE = "support"


def register(runtime: Runtime) -> None:
    @runtime.on(CustomerErased)
    async def erase(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomerErased.model_validate(env.data)
        await store.erase(conn, event.customer_id, erased_ids(event), erased_hashes(event))
        await answer_erasure(conn, SERVICE, event)

    @runtime.on(ExportRequested)
    async def export(conn: asyncpg.Connection, env: Envelope) -> None:
        event = ExportRequested.model_validate(env.data)
        await answer_export(conn, SERVICE, event, await store.section(conn, erased_ids(event)))

    @runtime.on(CustomersUnmerged)
    async def unmerge(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomersUnmerged.model_validate(env.data)
        emails = [_email(i["value"]) for i in event.identities if i.get("kind") == "email"]
        await requesters.forget_merge(
            conn, uuid.UUID(event.customer_id), uuid.UUID(event.restored_id)
        )
        await store.unmerge(
            conn, uuid.UUID(event.customer_id), uuid.UUID(event.restored_id),
            [e for e in emails if e],
        )  # fmt: skip

    guard_erased(runtime.dispatcher)


def _email(value: str) -> str | None:
    try:
        return normalise_email(value)
    except ValueError:
        return None
