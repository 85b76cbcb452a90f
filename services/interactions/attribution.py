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


class Attribution:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._entries: list[timeline_domain.Entry] = []
        self._order_refs: list[tuple[str, uuid.UUID]] = []

    async def add(self, links: list[identities.Link]) -> None:
        """Each link's identity's stored touches that belong to nobody yet are its customer's,
        link by link; links whose identity names none are passed over (one statement)."""
        for position in await identities.with_touches_waiting(self.conn, links):
            await self._add(*links[position])

    async def _add(self, kind: str, value: str, customer: uuid.UUID) -> None:
        if kind in CALL_KINDS:
            async for calls in interactions.attach(self.conn, kind, value, customer):
                self._entries += tracking_record.late_entries(calls, customer)
                if len(self._entries) >= interactions.ATTACH_CHUNK:  # a long history
                    await self._write_entries()
        elif kind in ORDER_KINDS:
            attached = await orders.attach(self.conn, kind, value, customer)
            refs = [timeline_domain.order_ref(str(r["id"])) for r in attached]
            self._order_refs += [(ref, customer) for ref in refs]

    async def finish(self) -> None:
        """Write what the links attributed to the timeline."""
        await self._write_entries()
        await timeline.attach_refs(self.conn, self._order_refs)
        self._order_refs = []

    async def _write_entries(self) -> None:
        await timeline.add(self.conn, self._entries)
        self._entries = []
