"""Lead scoring: rules, the qualification threshold, and a customer's score."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query, Request, Response

from services.sales.api.common import READ, WRITE, path_id, pool, time_id_cursor
from services.sales.domain.scoring import RuleIn, SettingsIn
from services.sales.store import customers, rules, scoring
from services.sales.store.score_card import score_card
from shared.errors import invalid, not_found
from shared.http import JSON, service_router
from shared.pagination import encode_cursor

rules_router = service_router("/api/v1/scoring", "scoring")
score_router = service_router("/api/v1/customers", "scoring")


@rules_router.post("/rules", status_code=201, **WRITE)
async def create_rule(body: RuleIn, request: Request) -> JSON:
    try:
        kind, match = body.trigger()
    except ValueError as exc:
        raise invalid("event", str(exc)) from None
    async with pool(request).acquire() as conn:
        row = await rules.create(conn, kind, match, body.points, body.decay_per_day)
    out = rules.public(row)
    return JSON(out, status_code=201, headers={"Location": f"/api/v1/scoring/rules/{out['id']}"})


@rules_router.get("/rules", **READ)
async def list_rules(request: Request) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        found = await rules.listed(conn)
    return {"items": [rules.public(r) for r in found], "next_cursor": None}


@rules_router.delete("/rules/{rule_id}", status_code=204, **WRITE)
async def delete_rule(rule_id: str, request: Request) -> Response:
    """Later events no longer earn the rule's points; points already earned stay."""
    async with pool(request).acquire() as conn:
        await rules.delete(conn, path_id(rule_id, "scoring rule"))
    return Response(status_code=204)


@rules_router.get("/settings", **READ)
async def get_settings(request: Request) -> dict[str, Any]:
    async with pool(request).acquire() as conn:
        return {"qualify_at": await rules.threshold(conn)}


@rules_router.put("/settings", **WRITE)
async def put_settings(body: SettingsIn, request: Request) -> dict[str, Any]:
    """Customers already at or over a lowered threshold qualify now."""
    async with pool(request).acquire() as conn, conn.transaction():
        row = await rules.set_threshold(conn, body.qualify_at)
        await scoring.qualify_everyone(conn, datetime.now(UTC))
    return {"qualify_at": row["qualify_at"], "updated_at": row["updated_at"].isoformat()}


@score_router.get("/{customer_id}/score", **READ)
async def customer_score(
    customer_id: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    ident = path_id(customer_id, "customer")
    after = time_id_cursor(cursor)
    async with pool(request).acquire() as conn:
        survivor = (await scoring.survivors_of(conn, {ident}))[ident]
        if not await customers.is_known(conn, survivor):
            raise not_found("customer", customer_id)
        card = await score_card(conn, ident, datetime.now(UTC), limit, after)
    history = card["history"]
    more = len(history) > limit
    card["history"] = history[:limit]
    last = card["history"][-1] if more else None
    card["next_cursor"] = encode_cursor([last["occurred_at"], last["event_id"]]) if last else None
    return card
