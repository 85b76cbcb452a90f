"""Contacts consumes identity requests from the channels (find-or-create, race-free) and the
lifecycle facts other services establish (a qualified lead moves the stage it owns)."""

from __future__ import annotations

import uuid

import asyncpg

from services.contacts.store import customers, identify
from shared.cloudevents import Envelope
from shared.events.contacts import IdentityRequest
from shared.events.sales import LeadQualified
from shared.service import Runtime


def register(runtime: Runtime) -> None:
    @runtime.on(IdentityRequest)
    async def resolve_identity(conn: asyncpg.Connection, env: Envelope) -> None:
        request = IdentityRequest.model_validate(env.data)
        email = _normalised_or_none(request.email)
        identities = [(i.kind, i.value) for i in request.identities]
        if not email and not identities:
            raise ValueError("an identity request needs an email or an identity")
        await identify.identify(conn, email, identities, request.traits, request.request_id)

    @runtime.on(LeadQualified)
    async def qualify_lead(conn: asyncpg.Connection, env: Envelope) -> None:
        event = LeadQualified.model_validate(env.data)
        await customers.advance_stage(conn, uuid.UUID(event.customer_id), "sales_qualified")


def _normalised_or_none(email: str | None) -> str | None:
    from services.contacts.domain import normalise_email

    if not email:
        return None
    try:
        return normalise_email(email)
    except ValueError:
        return None
