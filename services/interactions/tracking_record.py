"""Recording accepted calls, one transaction: the rows, the timeline entries of known customers
(visible as soon as the call is answered), InteractionRecorded (a
visitor's: VisitorInteractionRecorded) and identity requests.

A call of a visitor nobody is linked to yet belongs to no timeline: it is only the raw row until
a link attributes it (`stitching`), which writes its entry then. Most web traffic is anonymous,
and a timeline entry of nobody was a second copy of the row, written for every call."""

from __future__ import annotations

import uuid
from typing import Any

from services.interactions import timeline_domain
from services.interactions.store import identities, interactions, timeline
from services.interactions.tracking_domain import TrackedCall, stored_call
from shared import outbox
from shared.events.contacts import Identity, IdentityRequest
from shared.service import Runtime

SERVICE = "interactions"


async def record(runtime: Runtime, calls: list[TrackedCall]) -> int:
    """Store the calls durably (duplicates by messageId once); returns how many were new."""
    if not calls:
        return 0
    async with runtime.db.acquire() as conn, identities.writing_touches(conn):
        known = await identities.lookup(conn, {p for c in calls for p in c.identities()})
        customers = {c.interaction_id: _customer_of(c, known) for c in calls}
        new_ids = await interactions.insert_new(conn, calls, customers, publish=True)
        new = [c for c in calls if c.interaction_id in new_ids]
        entries = [
            timeline_domain.from_interaction(recorded_data(c, customer), c.interaction_id)
            for c in new
            if (customer := customers[c.interaction_id])
        ]
        await timeline.add_marking(conn, entries)
        requests = [outbox.row_of(e) for e in identity_requests(new, known)]
        await outbox.add_rows(conn, requests, notify=False)  # the hottest path: see add_rows
    if (new or requests) and runtime.relay_wakeup is not None:
        runtime.relay_wakeup.poke()
    return len(new)


def _customer_of(call: TrackedCall, known: dict[tuple[str, str], uuid.UUID]) -> uuid.UUID | None:
    pairs = (("user_id", call.user_id), ("email", call.email), ("anonymous_id", call.anonymous_id))
    for pair in pairs:
        if pair[1] and pair in known:
            return known[pair]
    return None


def recorded_data(call: TrackedCall, customer_id: uuid.UUID | None) -> dict[str, Any]:
    """InteractionRecorded's data, built without the model: the timeline entries of known
    customers' calls (and of calls attributed later) are made from it. The events themselves are
    built by the statement that stores the calls (`store.interactions.insert_new`); a unit test
    holds this to the model, a test on PostgreSQL holds those events to this."""
    return {
        "interaction_id": str(call.interaction_id),
        "message_id": call.message_id,
        "customer_id": str(customer_id) if customer_id else None,
        "anonymous_id": call.anonymous_id,
        "user_id": call.user_id,
        "channel": call.channel,
        "kind": call.kind,
        "name": call.name,
        "path": call.path,
        "properties": call.properties,
        "traits": call.traits if call.kind == "identify" else {},
        "occurred_at": call.occurred_at,
    }


def late_entries(rows: list[Any], customer_id: uuid.UUID) -> list[timeline_domain.Entry]:
    """The timeline entries of stored calls attributed after they were accepted: the entries
    their acceptance would have written, had the customer been known then."""
    calls = map(stored_call, rows)
    return [
        timeline_domain.from_interaction(recorded_data(c, customer_id), c.interaction_id)
        for c in calls
    ]


def identity_requests(
    calls: list[TrackedCall], known: dict[tuple[str, str], uuid.UUID]
) -> list[IdentityRequest]:
    """One request per distinct set of identities that names a person (a user id or an email)
    and is not fully linked yet; identify traits go along so contacts can fill the profile."""
    requests: dict[tuple, IdentityRequest] = {}
    for call in calls:
        pairs = call.identities()
        if not (call.user_id or call.email):
            continue
        if all(p in known for p in pairs) and call.kind != "identify":
            continue
        signature = tuple(sorted(pairs))
        if signature in requests:
            continue
        requests[signature] = IdentityRequest(
            request_id=str(uuid.uuid4()),
            requested_by=SERVICE,
            email=call.email,
            identities=[Identity(kind=k, value=v) for k, v in pairs if k != "email"],
            traits=call.traits if call.kind == "identify" else {},
        )
    return list(requests.values())
