"""The web channel: Segment's HTTP Tracking API (`/v1/identify` ... `/v1/batch`).

Answers like Segment: 200 `{"success": true}` once every call is durable. A batch with some
malformed calls stores the valid rest and answers 200 with `accepted` and `rejected`
(`[{"index", "field", "message"}]`); when nothing in the request is valid: 422 problem+json.
A worker already working on `ECRM_TRACKING_MAX_IN_FLIGHT` requests answers 503 at once, with
Retry-After (shared.overload).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from services.interactions.tracking_domain import (
    KINDS,
    MAX_BATCH_BYTES,
    MAX_EVENT_BYTES,
    InvalidCall,
    RequestInfo,
    TrackedCall,
    check_storable,
    parse_call,
)
from services.interactions.tracking_http import (
    basic_user,
    check_write_key,
    read_json_body,
)
from services.interactions.tracking_record import record
from shared.errors import Problem
from shared.http import JSON
from shared.ids import uuid7s
from shared.overload import InFlight
from shared.ratelimit import limit_tracking

router = APIRouter(prefix="/v1", tags=["tracking"])
WRITE_KEY_AUTH = {"openapi_extra": {"security": [{"writeKey": []}]}}


async def _authorized_body(request: Request, limit: int) -> dict[str, Any]:
    """Basic auth is checked before the body is read; Segment's body `writeKey` also works."""
    user = basic_user(request)
    if user is not None:
        await check_write_key(request, user)
        limit_tracking(request, user)
    body = await read_json_body(request, limit)
    if user is None:
        key = body.get("writeKey")
        await check_write_key(request, key if isinstance(key, str) else None)
        limit_tracking(request, str(key))
    return body


def _in_flight(request: Request) -> InFlight:
    return request.app.state.tracking_in_flight  # made by the app's wiring


@router.post("/batch", **WRITE_KEY_AUTH)
async def batch(request: Request) -> JSON:
    with _in_flight(request).slot():
        return await _batch(request)


async def _batch(request: Request) -> JSON:
    body = await _authorized_body(request, MAX_BATCH_BYTES)
    received_at = datetime.now(UTC)
    items = body.get("batch")
    if not isinstance(items, list):
        raise _all_rejected([{"index": None, "field": "batch", "message": "must be a list"}])
    context = body.get("context") if isinstance(body.get("context"), dict) else {}
    try:
        check_storable(context, "context")  # shared by every call of the batch
    except InvalidCall as exc:
        raise _all_rejected([_rejection(None, exc)]) from None
    info = RequestInfo(received_at, body.get("sentAt"), context)
    calls, rejected = _parse_batch(items, info)
    if rejected and not calls:
        raise _all_rejected(rejected)
    await record(request.app.state.runtime, calls)
    return _answer(len(calls), rejected)


def _parse_batch(
    items: list[Any], info: RequestInfo
) -> tuple[list[TrackedCall], list[dict[str, Any]]]:
    calls: list[TrackedCall] = []
    rejected: list[dict[str, Any]] = []
    for index, (item, call_id) in enumerate(zip(items, uuid7s(len(items)), strict=True)):
        try:
            check_storable(item)
            calls.append(parse_call(item, info, call_id=call_id))
        except InvalidCall as exc:
            rejected.append(_rejection(index, exc))
    return calls, rejected


def _single(kind: str) -> Any:
    async def track_one(request: Request) -> JSON:
        with _in_flight(request).slot():
            body = await _authorized_body(request, MAX_EVENT_BYTES)
            info = RequestInfo(datetime.now(UTC))
            try:
                check_storable(body)
                call = parse_call(body, info, kind)
            except InvalidCall as exc:
                raise _all_rejected([_rejection(0, exc)]) from None
            await record(request.app.state.runtime, [call])
            return _answer(1, [])

    track_one.__name__ = f"{kind}_call"
    track_one.__doc__ = f"Segment `{kind}` call (HTTP Basic: the write key as user name)."
    return track_one


for _kind in KINDS:
    router.add_api_route(f"/{_kind}", _single(_kind), methods=["POST"], **WRITE_KEY_AUTH)


def _answer(accepted: int, rejected: list[dict[str, Any]]) -> JSON:
    if not rejected:
        return JSON({"success": True})
    return JSON({"success": True, "accepted": accepted, "rejected": rejected})


def _rejection(index: int | None, exc: InvalidCall) -> dict[str, Any]:
    """One entry of `rejected` (index None: the request as a whole)."""
    return {"index": index, "field": exc.field, "message": exc.message}


def _all_rejected(rejected: list[dict[str, Any]]) -> Problem:
    fields = ", ".join(sorted({r["field"] for r in rejected}))
    return Problem(
        422, "Invalid calls", f"no call was accepted; invalid: {fields}", errors=rejected
    )
