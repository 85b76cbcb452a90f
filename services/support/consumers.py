"""Support keeps a requester projection from contacts' events (privacy requests: privacy.py)."""

from __future__ import annotations

import uuid

import asyncpg

from services.support.domain import normalise_email
from services.support.store import privacy, requesters
from shared.cloudevents import Envelope
from shared.events.contacts import (
    CustomerCreated,
    CustomerDeleted,
    CustomersMerged,
    CustomerUpdated,
    IdentityLinked,
)
from shared.service import Runtime


def _email(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalise_email(value)
    except ValueError:
        return None


def _created_address(event: CustomerCreated) -> str | None:
    """A new customer's address as contacts sends it: already put through contacts'
    `normalise_email`, whose rules are support's (a normalised address normalises to itself), so
    it is not validated again. Validating it was 39 % of support's time per created customer.
    Linked identities and changed snapshots still go through `_email`: they are rare, and an
    email identity stored before contacts normalised those may carry any letters."""
    return event.email or None


def register(runtime: Runtime) -> None:
    @runtime.on(IdentityLinked)
    async def link_requester(conn: asyncpg.Connection, env: Envelope) -> None:
        event = IdentityLinked.model_validate(env.data)
        email = _email(event.identity.value) if event.identity.kind == "email" else None
        if email:
            await requesters.link(conn, email, uuid.UUID(event.customer_id))

    @runtime.on_batch(CustomerCreated)
    async def fill_requesters(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
        events = [CustomerCreated.model_validate(env.data) for env in envs]
        known = [(_created_address(e), uuid.UUID(e.customer_id)) for e in events]
        await requesters.fill_known(conn, [(email, c) for email, c in known if email])

    @runtime.on(CustomerUpdated)
    async def follow_email_change(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomerUpdated.model_validate(env.data)
        email = _email(event.email)
        if "email" in event.changed and email:
            await requesters.change_email(conn, uuid.UUID(event.customer_id), email)

    @runtime.on(CustomersMerged)
    async def move_to_survivor(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomersMerged.model_validate(env.data)
        survivor, merged = uuid.UUID(event.customer_id), uuid.UUID(event.merged_id)
        await privacy.remember_merge(conn, merged, survivor)  # so it can be undone
        await requesters.merge(conn, survivor, merged)

    @runtime.on(CustomerDeleted)
    async def forget_customer(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomerDeleted.model_validate(env.data)
        await requesters.forget_customer(conn, uuid.UUID(event.customer_id))
