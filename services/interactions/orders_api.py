"""The store channel: `POST /api/v1/orders`, idempotent on (store_id, order_id)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request

from services.interactions import timeline_domain
from services.interactions.orders_domain import OrderIn, OrderRuleError, check_rules, fingerprint
from services.interactions.store import identities, orders, timeline
from shared import outbox
from shared.auth import scoped
from shared.errors import conflict, invalid, not_found
from shared.events.base import Event
from shared.events.contacts import Identity, IdentityRequest
from shared.events.interactions import OrderLine, OrderPlaced
from shared.http import JSON, service_router
from shared.ids import parse_uuid, uuid7
from shared.pagination import decode_cursor, page

router = service_router("/api/v1/orders", "orders")
READ, WRITE = scoped("interactions:read"), scoped("interactions:write")


@router.post("", status_code=201, **WRITE)
async def place_order(body: OrderIn, request: Request) -> JSON:
    """201 with the new order; 200 with the existing one when the same order is sent again;
    409 when (store_id, order_id) exists with different content."""
    try:
        check_rules(body)
    except OrderRuleError as exc:
        raise invalid(exc.field, str(exc)) from None
    print_ = fingerprint(body)
    async with request.app.state.runtime.db.acquire() as conn, identities.writing_touches(conn):
        customer_id, request_event = await _customer_for(conn, body)
        row = await orders.insert(conn, body, customer_id, print_, uuid7())
        if row is None:
            existing = await orders.by_store_order(conn, body.store_id, body.order_id)
            return _existing(existing, print_)
        placed = _placed_event(row, body)
        entry = timeline_domain.from_order(placed, placed.id, placed.customer_id)
        await timeline.add_marking(conn, [entry])
        events: list[Event] = [placed]
        if request_event is not None:
            events.append(request_event)
        await outbox.add_many(conn, events)
    location = {"Location": f"/api/v1/orders/{row['id']}"}
    return JSON(orders.public(row), status_code=201, headers=location)


async def _customer_for(
    conn: Any, body: OrderIn
) -> tuple[uuid.UUID | None, IdentityRequest | None]:
    """The customer named by id, or known by email/loyalty id; else ask contacts."""
    if body.customer_id:
        given = parse_uuid(body.customer_id)
        if given is None:
            raise invalid("customer_id", "not a customer id")
        return await identities.resolve(conn, given), None
    pairs = {("email", body.email), ("loyalty_id", body.loyalty_id)}
    known = await identities.lookup(conn, {(k, v) for k, v in pairs if v})
    for pair in (("loyalty_id", body.loyalty_id), ("email", body.email)):
        if pair in known:
            return known[pair], None
    request = IdentityRequest(
        request_id=str(uuid.uuid4()),
        requested_by="interactions",
        email=body.email,
        identities=[Identity(kind="loyalty_id", value=body.loyalty_id)] if body.loyalty_id else [],
    )
    return None, request


def _existing(row: Any, print_: str) -> JSON:
    if row["fingerprint"] != print_:
        raise conflict(
            f"order {row['order_id']} of store {row['store_id']} exists with different content",
            field="order_id",
        )
    return JSON(orders.public(row), status_code=200)


def _placed_event(row: Any, body: OrderIn) -> OrderPlaced:
    return OrderPlaced(
        id=str(row["id"]),
        order_id=body.order_id,
        store_id=body.store_id,
        customer_id=str(row["customer_id"]) if row["customer_id"] else None,
        email=body.email,
        loyalty_id=body.loyalty_id,
        channel=body.channel,
        currency=body.currency,
        total=float(body.total),
        lines=[OrderLine(**line.model_dump(mode="json")) for line in body.lines],
        placed_at=body.placed_at,
    )


@router.get("/{order_id}", **READ)
async def get_order(order_id: str, request: Request) -> JSON:
    parsed = parse_uuid(order_id)
    if parsed is None:
        raise not_found("order", order_id)
    async with request.app.state.runtime.db.acquire() as conn:
        row = await orders.by_id(conn, parsed)
    if row is None:
        raise not_found("order", order_id)
    return JSON(orders.public(row))


@router.get("", **READ)
async def list_orders(
    request: Request,
    customer_id: str | None = None,
    store_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    customer = parse_uuid(customer_id) if customer_id else None
    if customer_id and customer is None:
        raise invalid("customer_id", "not a customer id")
    after = _cursor(cursor)
    async with request.app.state.runtime.db.acquire() as conn:
        if customer is not None:
            customer = await identities.resolve(conn, customer)
        rows = await orders.listing(conn, customer, store_id, after, limit)
    return page(
        [orders.public(r) for r in rows],
        limit,
        lambda o: [o["placed_at"].isoformat(), str(o["id"])],
    )


def _cursor(cursor: str | None) -> list[Any] | None:
    after = decode_cursor(cursor)
    if after is None:
        return None
    try:
        return [datetime.fromisoformat(after[0]), uuid.UUID(after[1])]
    except (ValueError, TypeError, IndexError, KeyError):
        raise invalid("cursor", "not a cursor returned by this list") from None
