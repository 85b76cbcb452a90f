"""The timeline and metrics, built by consuming: contacts' answers and facts, and every event of
support, campaigns and sales that names a customer. Our own touches (web calls and orders) are
written to the timeline with the call itself, and their figures follow through
`metrics_refresh`: this service does not consume its own interaction stream. A visitor's calls
made before anyone knew who they were reach the timeline when contacts links the visitor."""

from __future__ import annotations

import uuid

import asyncpg

from services.interactions import timeline_domain as entries
from services.interactions.attribution import attribute
from services.interactions.store import identities, metrics, timeline
from services.interactions.store.privacy import remember_merge
from shared import outbox
from shared.cloudevents import Envelope
from shared.events.catalogue import all_topics
from shared.events.contacts import CustomerDeleted, CustomersMerged, IdentityLinked
from shared.events.interactions import CustomerMetricsChanged
from shared.service import Runtime

FOREIGN_OWNERS = ("support", "campaigns", "sales")
CONTACTS_TOPIC = IdentityLinked.topic()
LINKED = IdentityLinked.ce_type()


def foreign_topics() -> list[str]:
    """Every topic of the services whose events land on the timeline (privacy answers aside)."""
    return [
        t
        for t in all_topics(with_dlq=False)
        if t.split(".")[1] in FOREIGN_OWNERS and not t.endswith(".privacy")
    ]


async def publish_metrics(conn: asyncpg.Connection, customer_ids: set[uuid.UUID]) -> None:
    changed = await metrics.refresh(conn, customer_ids)
    await outbox.add_many(conn, [CustomerMetricsChanged(**m) for m in changed])


async def add_entries(conn: asyncpg.Connection, found: list[entries.Entry]) -> None:
    await publish_metrics(conn, await timeline.add(conn, found))


async def stitch(conn: asyncpg.Connection, envs: list[Envelope]) -> set[uuid.UUID]:
    """Links, without the attribution lock (see `identities`): a touch written by a request
    that read the links before one committed is attributed by the follow-up. Returns the
    linked customers, whose figures the caller publishes."""
    events = [IdentityLinked.model_validate(env.data) for env in envs]
    live = await identities.live_customers(conn, {uuid.UUID(e.customer_id) for e in events})
    links = [
        (e.identity.kind, e.identity.value, customer)
        for e in events
        if (customer := live.get(uuid.UUID(e.customer_id)))
    ]
    await identities.link(conn, links)
    await attribute(conn, links)
    await identities.note_followups(conn, links)
    return {customer for _, _, customer in links}


def register(runtime: Runtime) -> None:
    @runtime.on_batch(IdentityLinked)
    @runtime.on_topic(CONTACTS_TOPIC, batch=True)
    async def contacts_facts(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
        """A run of contacts' events (merges and deletions aside: each alone, in order): the
        links stitched, the others' entries added, and the figures of all their customers
        published once. A sign-in's events (the customer, its consents, two or three links)
        come interleaved with the next sign-in's, and make one run, so one transaction of
        sign-ins takes a few statements for all of them, not several a sign-in. The figures'
        lock comes first (the lock order in `identities`)."""
        await identities.linking(conn)
        links = [env for env in envs if env.type == LINKED]
        found = [e for env in envs if env.type != LINKED and (e := entries.from_event(env))]
        customers = await stitch(conn, links) | await timeline.add(conn, found)
        await publish_metrics(conn, customers)

    @runtime.on(CustomersMerged)
    async def fold(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomersMerged.model_validate(env.data)
        await identities.rewriting_attribution(conn)
        survivor = await identities.resolve(conn, uuid.UUID(event.customer_id))
        await remember_merge(conn, uuid.UUID(event.merged_id), survivor)  # so it can be undone
        await timeline.fold(conn, uuid.UUID(event.merged_id), survivor)
        merged_entry = entries.from_event(env)
        await add_entries(conn, [merged_entry] if merged_entry else [])
        await publish_metrics(conn, {survivor})

    @runtime.on(CustomerDeleted)
    async def forget(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomerDeleted.model_validate(env.data)
        await identities.rewriting_attribution(conn)
        await timeline.forget(conn, uuid.UUID(event.customer_id))

    @runtime.on_topic(*foreign_topics(), batch=True)
    async def add_events(conn: asyncpg.Connection, envs: list[Envelope]) -> None:
        await add_entries(conn, [e for e in map(entries.from_event, envs) if e is not None])
