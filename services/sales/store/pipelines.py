"""Pipelines and their ordered stages."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.sales.domain.deals import PipelineIn, Stage
from shared.errors import conflict, not_found
from shared.ids import uuid7


async def stages_of(conn: asyncpg.Connection, pipeline_id: str) -> list[Stage]:
    rows = await conn.fetch(
        "SELECT name, position, probability, outcome FROM pipeline_stages"
        " WHERE pipeline_id = $1 ORDER BY position",
        pipeline_id,
    )
    return [Stage(r["name"], r["position"], r["probability"], r["outcome"]) for r in rows]


async def required_stages(conn: asyncpg.Connection, pipeline_id: str) -> list[Stage]:
    stages = await stages_of(conn, pipeline_id)
    if not stages:
        raise not_found("pipeline", pipeline_id)
    return stages


async def create(conn: asyncpg.Connection, body: PipelineIn) -> dict[str, Any]:
    pipeline_id = body.id or str(uuid7())
    stages = body.resolved_stages()
    async with conn.transaction():
        row = await conn.fetchrow(
            "INSERT INTO pipelines (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING"
            " RETURNING id, name, created_at",
            pipeline_id,
            body.name,
        )
        if row is None:
            raise conflict(f"pipeline {pipeline_id} already exists", field="id")
        await conn.executemany(
            "INSERT INTO pipeline_stages (pipeline_id, name, position, probability, outcome)"
            " VALUES ($1, $2, $3, $4, $5)",
            [(pipeline_id, s.name, s.position, s.probability, s.outcome) for s in stages],
        )
    return public(row, stages)


async def listed(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT id, name, created_at FROM pipelines ORDER BY created_at, id")
    return [public(r, await stages_of(conn, r["id"])) for r in rows]


async def get(conn: asyncpg.Connection, pipeline_id: str) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT id, name, created_at FROM pipelines WHERE id = $1", pipeline_id
    )
    if row is None:
        raise not_found("pipeline", pipeline_id)
    return public(row, await stages_of(conn, pipeline_id))


def public(row: asyncpg.Record, stages: list[Stage]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "stages": [
            {
                "name": s.name,
                "position": s.position,
                "probability": s.probability,
                "outcome": s.outcome,
            }
            for s in stages
        ],
        "created_at": row["created_at"].isoformat(),
    }
