"""Deals: create, move through stages (with history and events), change, read, list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.sales.domain.deals import DealIn, Stage, StageError, decide_transition, first_stage
from services.sales.store.pipelines import required_stages, stages_of
from shared import outbox
from shared.errors import invalid, not_found, require_version
from shared.events.base import Event
from shared.events.sales import DealCreated, DealLost, DealStageChanged, DealWon
from shared.ids import uuid7

COLUMNS = (
    "id, pipeline_id, name, customer_id, account_id, amount, currency, stage, stage_entered_at,"
    " expected_close, owner, lost_reason, closed_at, version, created_at, updated_at"
)


def public(row: asyncpg.Record, history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out = {
        "id": str(row["id"]),
        "pipeline_id": row["pipeline_id"],
        "name": row["name"],
        "customer_id": str(row["customer_id"]),
        "account_id": str(row["account_id"]) if row["account_id"] else None,
        "amount": float(row["amount"]),
        "currency": row["currency"],
        "stage": row["stage"],
        "stage_entered_at": row["stage_entered_at"].isoformat(),
        "expected_close": row["expected_close"].isoformat() if row["expected_close"] else None,
        "owner": row["owner"],
        "lost_reason": row["lost_reason"],
        "closed_at": row["closed_at"].isoformat() if row["closed_at"] else None,
        "version": row["version"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }
    if history is not None:
        out["stage_history"] = history
    return out


async def create(
    conn: asyncpg.Connection,
    body: DealIn,
    customer_id: uuid.UUID,
    account_id: uuid.UUID | None,
    actor: str,
) -> asyncpg.Record:
    async with conn.transaction():
        stages = await stages_of(conn, body.pipeline_id)
        if not stages:
            raise invalid("pipeline_id", f"unknown pipeline {body.pipeline_id!r}")
        first = first_stage(stages)
        await _require_account(conn, account_id)
        now = datetime.now(UTC)
        row = await conn.fetchrow(
            f"INSERT INTO deals ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
            f" NULL, NULL, 1, $9, $9) RETURNING {COLUMNS}",
            uuid7(),
            body.pipeline_id,
            body.name,
            customer_id,
            account_id,
            body.amount,
            body.currency,
            first.name,
            now,
            body.expected_close,
            body.owner,
        )
        await _record_stage(conn, row["id"], None, first.name, now, actor)
        await outbox.add(
            conn,
            DealCreated(
                deal_id=str(row["id"]),
                customer_id=str(customer_id),
                name=row["name"],
                amount=float(row["amount"]),
                currency=row["currency"],
                stage=first.name,
                pipeline_id=row["pipeline_id"],
                account_id=_str(account_id),
                expected_close=row["expected_close"],
                owned_by=row["owner"],
                probability=first.probability,
            ),
        )
        return row


async def _require_account(conn: asyncpg.Connection, account_id: uuid.UUID | None) -> None:
    if account_id and not await conn.fetchval("SELECT 1 FROM accounts WHERE id = $1", account_id):
        raise invalid("account_id", f"unknown account {account_id}")


@dataclass
class DealChange:
    fields: dict[str, Any]  # columns other than the stage
    stage: str | None
    lost_reason: str | None


async def patch(
    conn: asyncpg.Connection,
    deal_id: uuid.UUID,
    change: DealChange,
    if_match: int | None,
    actor: str,
) -> asyncpg.Record:
    async with conn.transaction():
        row = await fetch(conn, deal_id, lock=True)
        if row is None:
            raise not_found("deal", deal_id)
        require_version("deal", row["version"], if_match)
        await _require_account(conn, change.fields.get("account_id"))
        stages = await required_stages(conn, row["pipeline_id"])
        try:
            transition = decide_transition(
                stages, row["stage"], change.stage or row["stage"], change.lost_reason
            )
        except StageError as exc:
            raise invalid(exc.field, str(exc)) from None
        updates = {k: v for k, v in change.fields.items() if v != row[k]}
        if change.lost_reason is not None:
            if _outcome(stages, transition.to_stage if transition else row["stage"]) != "lost":
                raise invalid("lost_reason", "only a lost deal has a lost_reason")
            updates["lost_reason"] = change.lost_reason
        now = datetime.now(UTC)
        events: list[Event] = []
        if transition:
            updates |= _stage_columns(stages, transition.to_stage, now)
            await _record_stage(conn, deal_id, row["stage"], transition.to_stage, now, actor)
        if not updates:
            return row
        updated = await _update(conn, deal_id, updates)
        if transition:
            events = _stage_events(updated, stages, row["stage"], now)
        await outbox.add_many(conn, events)
        return updated


def _outcome(stages: list[Stage], stage: str) -> str | None:
    return next(s.outcome for s in stages if s.name == stage)


def _stage_columns(stages: list[Stage], to_stage: str, now: datetime) -> dict[str, Any]:
    outcome = _outcome(stages, to_stage)
    columns: dict[str, Any] = {
        "stage": to_stage,
        "stage_entered_at": now,
        "closed_at": now if outcome else None,
    }
    if outcome != "lost":
        columns["lost_reason"] = None
    return columns


async def _update(
    conn: asyncpg.Connection, deal_id: uuid.UUID, updates: dict[str, Any]
) -> asyncpg.Record:
    sets = ", ".join(f"{col} = ${i + 2}" for i, col in enumerate(updates))
    return await conn.fetchrow(
        f"UPDATE deals SET {sets}, version = version + 1, updated_at = now()"
        f" WHERE id = $1 RETURNING {COLUMNS}",
        deal_id,
        *updates.values(),
    )


def _stage_events(
    row: asyncpg.Record, stages: list[Stage], from_stage: str, now: datetime
) -> list[Event]:
    stage = next(s for s in stages if s.name == row["stage"])
    common = {"deal_id": str(row["id"]), "customer_id": str(row["customer_id"])}
    events: list[Event] = [
        DealStageChanged(
            **common,
            from_stage=from_stage,
            to_stage=stage.name,
            at=now,
            pipeline_id=row["pipeline_id"],
            name=row["name"],
            probability=stage.probability,
        )
    ]
    if stage.outcome == "won":
        events.append(
            DealWon(
                **common,
                amount=float(row["amount"]),
                currency=row["currency"],
                at=now,
                name=row["name"],
                pipeline_id=row["pipeline_id"],
            )
        )
    elif stage.outcome == "lost":
        events.append(
            DealLost(
                **common,
                reason=row["lost_reason"],
                at=now,
                name=row["name"],
                pipeline_id=row["pipeline_id"],
                amount=float(row["amount"]),
                currency=row["currency"],
            )
        )
    return events


async def _record_stage(
    conn: asyncpg.Connection,
    deal_id: uuid.UUID,
    from_stage: str | None,
    to_stage: str,
    at: datetime,
    actor: str,
) -> None:
    await conn.execute(
        "INSERT INTO deal_stage_history (deal_id, from_stage, to_stage, at, by)"
        " VALUES ($1, $2, $3, $4, $5)",
        deal_id,
        from_stage,
        to_stage,
        at,
        actor,
    )


async def fetch(
    conn: asyncpg.Connection, deal_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM deals WHERE id = $1{suffix}", deal_id)


async def stage_history(conn: asyncpg.Connection, deal_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT from_stage, to_stage, at, by FROM deal_stage_history"
        " WHERE deal_id = $1 ORDER BY id",
        deal_id,
    )
    return [
        {"from": r["from_stage"], "to": r["to_stage"], "at": r["at"].isoformat(), "by": r["by"]}
        for r in rows
    ]


@dataclass
class DealQuery:
    pipeline_id: str | None = None
    stage: str | None = None
    customer_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    owner: str | None = None
    after: uuid.UUID | None = None
    limit: int = 50


async def search(conn: asyncpg.Connection, query: DealQuery) -> list[asyncpg.Record]:
    where: list[str] = []
    args: list[object] = []
    for column in ("pipeline_id", "stage", "customer_id", "account_id", "owner"):
        value = getattr(query, column)
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    if query.after:
        args.append(query.after)
        where.append(f"id > ${len(args)}")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    args.append(query.limit + 1)
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM deals {clause} ORDER BY id LIMIT ${len(args)}", *args
    )


def _str(value: object | None) -> str | None:
    return str(value) if value is not None else None
