"""A customer snapshot fills the requester projection (support's store, on its real database,
in a transaction rolled back at the end): a new address is remembered in one statement; an
address that tickets were waiting on is filled, its tickets too; a merged customer's address
points at the survivor; a known address is left as it is; of an address named twice in one run
of snapshots (one statement), the first wins."""

from __future__ import annotations

import uuid

import asyncpg

from services.support.store import requesters
from services.support.store.lifecycle import NewTicket, open_ticket
from tests.support.db import rolled_back


def _address() -> str:
    return f"fill.{uuid.uuid4().hex[:10]}@example.com"


async def _owner(conn: asyncpg.Connection, email: str) -> uuid.UUID | None:
    return await conn.fetchval("SELECT customer_id FROM requesters WHERE email = $1", email)


async def test_a_snapshot_fills_new_waiting_and_merged_addresses(infra, support):
    async with rolled_back(infra.dsn("support")) as conn:
        waiting, fresh, merged_address = _address(), _address(), _address()
        ticket, _ = await open_ticket(
            conn, NewTicket("Where is it?", "Order 7", waiting, "api", waiting, "customer"), "t"
        )
        assert ticket["customer_id"] is None and await _owner(conn, waiting) is None

        customer, other = uuid.uuid4(), uuid.uuid4()
        await requesters.fill_known(conn, [(waiting, customer)])
        assert await _owner(conn, waiting) == customer
        filled = await conn.fetchval("SELECT customer_id FROM tickets WHERE id = $1", ticket["id"])
        assert filled == customer
        announced = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE ce_type LIKE '%TicketOpened%' AND key = $1",
            str(customer),
        )
        assert announced == 1  # the ticket said again, now with its customer

        await requesters.fill_known(conn, [(fresh, customer)])
        await requesters.fill_known(conn, [(fresh, other)])  # known already: left as it is
        assert await _owner(conn, fresh) == customer
        twice = _address()  # named twice in one run: the first wins, as in order
        await requesters.fill_known(conn, [(twice, other), (fresh, other), (twice, customer)])
        assert await _owner(conn, twice) == other and await _owner(conn, fresh) == customer

        merged, survivor = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO merged_customers (merged_id, survivor_id) VALUES ($1, $2)",
            merged,
            survivor,
        )
        await requesters.fill_known(conn, [(merged_address, merged)])
        assert await _owner(conn, merged_address) == survivor
