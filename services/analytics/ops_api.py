"""Ops figures (scope `ops:read`): the whole snapshot, or one part of it."""

from __future__ import annotations

from fastapi import Request

from services.analytics.ops.collector import OpsCollector
from shared.auth import scoped
from shared.http import JSON, service_router

router = service_router("/api/v1/ops", "ops")
READ = scoped("ops:read")


def _collector(request: Request) -> OpsCollector:
    return request.app.state.ops


@router.get("/overview", **READ)
async def get_overview(request: Request) -> JSON:
    """Everything at once: services' health, consumer lag, outbox backlog, DLQ, error rates,
    work queues."""
    return JSON(await _collector(request).snapshot())


def _part(name: str, doc: str) -> None:
    async def get_part(request: Request) -> JSON:
        snapshot = await _collector(request).snapshot()
        return JSON({"collected_at": snapshot["collected_at"], name: snapshot[name]})

    get_part.__doc__ = doc
    router.add_api_route(f"/{name}", get_part, methods=["GET"], name=f"get_ops_{name}", **READ)


_part("services", "Each service's health: status, consumer state, the topics it consumes.")
_part("lag", "Consumer lag per group (a service) and partition: committed and end offsets.")
_part("outbox", "Unpublished outbox rows per service and what each relay has published.")
_part("dlq", "Records parked on each `<topic>.dlq` dead-letter topic.")
_part("errors", "Relay, consumer, dead-letter and HTTP 5xx rates per second, and totals.")
_part(
    "queues",
    "Rows waiting in each service's own work queues (mails due and retrying, campaigns "
    "launching, segments building, open privacy requests, ...) and the oldest one's wait.",
)
