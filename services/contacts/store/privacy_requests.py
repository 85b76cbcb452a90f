"""Tracking privacy requests in contacts: who asked (the audit), each service's answer, when the
request completed, the export document, and how long that document is kept."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from shared.errors import not_found
from shared.ids import uuid7
from shared.privacy import answering_services, jsonable

EXPORT_FORMAT = "ecrm.export.v1"


async def open_request(
    conn: asyncpg.Connection, kind: str, customer_id: uuid.UUID, requested_by: str
) -> uuid.UUID:
    request_id = uuid7()
    await conn.execute(
        "INSERT INTO privacy_requests (id, kind, customer_id, expected, requested_by)"
        " VALUES ($1, $2, $3, $4, $5)",
        request_id,
        kind,
        customer_id,
        answering_services(),
        requested_by,
    )
    await audit(conn, kind, customer_id, requested_by, request_id=request_id)
    return request_id


async def audit(
    conn: asyncpg.Connection,
    action: str,
    customer_id: uuid.UUID,
    requested_by: str,
    *,
    other_id: uuid.UUID | None = None,
    request_id: uuid.UUID | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO privacy_audit (action, customer_id, other_id, request_id, requested_by)"
        " VALUES ($1, $2, $3, $4, $5)",
        action,
        customer_id,
        other_id,
        request_id,
        requested_by,
    )


async def record_answer(
    conn: asyncpg.Connection, request_id: uuid.UUID, service: str, section: dict | None
) -> bool:
    """Record a service's answer (once); complete the request when every service answered.
    False for an unknown request."""
    kind = await conn.fetchval(
        "SELECT kind FROM privacy_requests WHERE id = $1 FOR UPDATE", request_id
    )
    if kind is None:
        return False
    await conn.execute(
        "INSERT INTO privacy_answers (request_id, service, section) VALUES ($1, $2, $3)"
        " ON CONFLICT (request_id, service) DO NOTHING",
        request_id,
        service,
        section if kind == "export" else None,
    )
    await conn.execute(
        "UPDATE privacy_requests r SET completed_at = now() WHERE id = $1"
        " AND completed_at IS NULL AND NOT EXISTS (SELECT 1 FROM unnest(r.expected) AS e(s)"
        " WHERE NOT EXISTS (SELECT 1 FROM privacy_answers a"
        "  WHERE a.request_id = r.id AND a.service = e.s))",
        request_id,
    )
    return True


async def request_status(conn: asyncpg.Connection, request_id: uuid.UUID) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT id, kind, customer_id, expected, requested_by, requested_at, completed_at,"
        " expired_at FROM privacy_requests WHERE id = $1",
        request_id,
    )
    if row is None:
        raise not_found("privacy request", request_id)
    answers = await conn.fetch(
        "SELECT service, answered_at FROM privacy_answers WHERE request_id = $1", request_id
    )
    services = {s: "pending" for s in row["expected"]}
    services |= {a["service"]: "completed" for a in answers}
    return {
        "request_id": str(row["id"]),
        "kind": row["kind"],
        "customer_id": str(row["customer_id"]),
        "status": "completed" if row["completed_at"] else "pending",
        "services": dict(sorted(services.items())),
        "requested_by": row["requested_by"],
        "requested_at": row["requested_at"].isoformat(),
        "completed_at": row["completed_at"].isoformat() if row["completed_at"] else None,
        "expired_at": row["expired_at"].isoformat() if row["expired_at"] else None,
    }


async def document(conn: asyncpg.Connection, status: dict[str, Any]) -> dict[str, Any]:
    """The export: `export` (what this is) and one key per service holding its section."""
    answers = await conn.fetch(
        "SELECT service, section FROM privacy_answers WHERE request_id = $1 ORDER BY service",
        uuid.UUID(status["request_id"]),
    )
    meta = {k: status[k] for k in ("request_id", "customer_id", "requested_at", "completed_at")}
    doc: dict[str, Any] = {"export": {"format": EXPORT_FORMAT, **meta}}
    for answer in answers:
        doc[answer["service"]] = answer["section"] if answer["section"] is not None else {}
    return doc


async def audit_trail(conn: asyncpg.Connection, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    """Erasures, exports, merges and unmerges that involved the customer, newest first."""
    rows = await conn.fetch(
        "SELECT action, customer_id, other_id, request_id, requested_by, at FROM privacy_audit"
        " WHERE customer_id = $1 OR other_id = $1"
        " UNION ALL SELECT 'merge', survivor_id, merged_id, NULL, requested_by, at FROM merges"
        " WHERE survivor_id = $1 OR merged_id = $1"
        " ORDER BY at DESC",
        customer_id,
    )
    return jsonable(rows)


async def expire_exports(conn: asyncpg.Connection, older_than_days: int) -> int:
    """Retention: the documents of exports completed more than `older_than_days` ago go (the
    request, its answers' times and the audit stay)."""
    status = await conn.execute(
        "UPDATE privacy_requests SET expired_at = now() WHERE kind = 'export'"
        " AND expired_at IS NULL AND completed_at < now() - make_interval(days => $1)",
        older_than_days,
    )
    await conn.execute(
        "UPDATE privacy_answers a SET section = NULL FROM privacy_requests r"
        " WHERE r.id = a.request_id AND r.expired_at IS NOT NULL AND a.section IS NOT NULL"
    )
    return int(status.split()[-1])
