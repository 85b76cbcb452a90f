"""Sales consumes contacts' snapshots (email domain -> account), merges and deletions, and
every scorable event (web interactions, campaign opens and clicks, orders, tickets)."""

from __future__ import annotations

import uuid

import asyncpg

from services.sales.domain.scoring import signal_from
from services.sales.store import customers, scoring
from services.sales.store.privacy import remember_merge
from shared.cloudevents import Envelope
from shared.events.campaigns import LinkClicked, MessageOpened
from shared.events.contacts import (
    CustomerCreated,
    CustomerDeleted,
    CustomersMerged,
    CustomerUpdated,
)
from shared.events.interactions import InteractionRecorded, OrderPlaced
from shared.events.support import TicketOpened
from shared.messaging import names_a_customer
from shared.service import Runtime

SCORED = (InteractionRecorded, MessageOpened, LinkClicked, OrderPlaced, TicketOpened)


def register(runtime: Runtime) -> None:
    @runtime.on_batch(CustomerCreated, CustomerUpdated)
    async def project_customers(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
        events = [CustomerUpdated.model_validate(env.data) for env in envs]
        await customers.apply_snapshots(
            conn, [(uuid.UUID(e.customer_id), e.email, e.version) for e in events]
        )

    @runtime.on(CustomersMerged)
    async def fold_merged_customer(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomersMerged.model_validate(env.data)
        survivor, merged = uuid.UUID(event.customer_id), uuid.UUID(event.merged_id)
        await remember_merge(conn, merged, survivor)  # so it can be undone
        await customers.mark_merged(conn, survivor, merged)
        await scoring.merge(conn, survivor, merged)

    @runtime.on(CustomerDeleted)
    async def forget_customer(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomerDeleted.model_validate(env.data)
        await customers.mark_deleted(conn, uuid.UUID(event.customer_id))

    @runtime.on_batch(*SCORED, when=names_a_customer)  # anonymous touches score nobody
    async def score_events(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
        signals = [signal_from(env.name, env.id, env.data) for env in envs]
        await scoring.record_signals(conn, [s for s in signals if s is not None])
