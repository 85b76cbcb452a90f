"""Touches written before their identity was linked, given to the linked customer: a batch's
links (the consumer) or a follow-up's pairs, in one transaction.

The calls (a visitor or user id) and the orders (an email or loyalty id) are rewritten link by
link, in the order of the links, so a call two links name goes to the first; one statement first
finds the links that have any, and a follow-up's links mostly have none. The timeline entries
are written together once the links are done."""

from __future__ import annotations

import uuid

import asyncpg

from services.interactions import timeline_domain, tracking_record
from services.interactions.store import identities, interactions, orders, timeline

CALL_KINDS = ("anonymous_id", "user_id")
ORDER_KINDS = ("email", "loyalty_id")


async def attribute(conn: asyncpg.Connection, links: list[identities.Link]) -> None:
    """Each link's identity's stored touches that belong to nobody yet are its customer's,
    link by link, with their timeline entries; links whose identity names none are passed
    over (one statement)."""
    entries: list[timeline_domain.Entry] = []
    order_refs: list[tuple[str, uuid.UUID]] = []
    for position in await identities.with_touches_waiting(conn, links):
        kind, value, customer = links[position]
        if kind in CALL_KINDS:
            entries = await _attach_calls(conn, kind, value, customer, entries)
        elif kind in ORDER_KINDS:
            attached = await orders.attach(conn, kind, value, customer)
            order_refs += [(timeline_domain.order_ref(str(r["id"])), customer) for r in attached]
    await timeline.add(conn, entries)
    await timeline.attach_refs(conn, order_refs)


async def _attach_calls(
    conn: asyncpg.Connection,
    kind: str,
    value: str,
    customer: uuid.UUID,
    entries: list[timeline_domain.Entry],
) -> list[timeline_domain.Entry]:
    """The identity's calls attributed; returns the entries not written yet (a long history is
    written a chunk at a time)."""
    async for calls in interactions.attach(conn, kind, value, customer):
        entries += tracking_record.late_entries(calls, customer)
        if len(entries) >= interactions.ATTACH_CHUNK:
            await timeline.add(conn, entries)
            entries = []
    return entries
