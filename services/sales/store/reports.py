"""Pipeline figures: the board, the weighted forecast per month, win rate and stage times."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import asyncpg

from services.sales.store.pipelines import required_stages


def _money(value: Any) -> float:
    return round(float(value), 2)


async def board(conn: asyncpg.Connection, pipeline_id: str) -> dict[str, Any]:
    """Every stage in order, with its deal count and amounts per currency."""
    stages = await required_stages(conn, pipeline_id)
    rows = await conn.fetch(
        "SELECT stage, currency, count(*) AS n, sum(amount) AS total FROM deals"
        " WHERE pipeline_id = $1 GROUP BY stage, currency",
        pipeline_id,
    )
    counts: dict[str, int] = defaultdict(int)
    amounts: dict[str, dict[str, float]] = defaultdict(dict)
    for r in rows:
        counts[r["stage"]] += r["n"]
        amounts[r["stage"]][r["currency"]] = _money(r["total"])
    return {
        "pipeline_id": pipeline_id,
        "stages": [
            {
                "stage": s.name,
                "probability": s.probability,
                "outcome": s.outcome,
                "count": counts[s.name],
                "amount": dict(sorted(amounts[s.name].items())),
            }
            for s in stages
        ],
    }


async def forecast(conn: asyncpg.Connection, pipeline_id: str) -> dict[str, Any]:
    """Per expected-close month: amount x the stage's win probability, per currency.

    Lost deals weigh nothing and are left out; deals without an expected close date are
    summed apart under `unscheduled`.
    """
    await required_stages(conn, pipeline_id)
    rows = await conn.fetch(
        "SELECT to_char(d.expected_close, 'YYYY-MM') AS month, d.currency, count(*) AS n,"
        "       sum(d.amount) AS total, sum(d.amount * s.probability) AS weighted"
        "  FROM deals d JOIN pipeline_stages s ON s.pipeline_id = d.pipeline_id"
        "   AND s.name = d.stage"
        " WHERE d.pipeline_id = $1 AND s.outcome IS DISTINCT FROM 'lost'"
        " GROUP BY 1, 2 ORDER BY 1, 2",
        pipeline_id,
    )
    months: dict[str | None, dict[str, Any]] = {}
    for r in rows:
        bucket = months.setdefault(r["month"], {"count": 0, "amount": {}, "weighted": {}})
        bucket["count"] += r["n"]
        bucket["amount"][r["currency"]] = _money(r["total"])
        bucket["weighted"][r["currency"]] = _money(r["weighted"])
    unscheduled = months.pop(None, {"count": 0, "amount": {}, "weighted": {}})
    return {
        "pipeline_id": pipeline_id,
        "months": [{"month": m, **b} for m, b in sorted(months.items())],
        "unscheduled": unscheduled,
    }


_STAGE_TIMES = """
SELECT h.to_stage AS stage,
       avg(extract(epoch FROM (h.next_at - h.at)) / 86400.0) AS avg_days,
       count(*) AS stays
  FROM (SELECT deal_id, to_stage, at, lead(at) OVER (PARTITION BY deal_id ORDER BY id) AS next_at
          FROM deal_stage_history
         WHERE deal_id IN (SELECT id FROM deals WHERE pipeline_id = $1)) h
 WHERE h.next_at IS NOT NULL
 GROUP BY h.to_stage
"""


async def stats(conn: asyncpg.Connection, pipeline_id: str) -> dict[str, Any]:
    """Win rate over closed deals; average days a deal spent in each stage it has left."""
    stages = await required_stages(conn, pipeline_id)
    outcome_of = {s.name: s.outcome for s in stages}
    per_stage = await conn.fetch(
        "SELECT stage, count(*) AS n FROM deals WHERE pipeline_id = $1 GROUP BY stage",
        pipeline_id,
    )
    totals = {"won": 0, "lost": 0, "open": 0}
    for r in per_stage:
        totals[outcome_of.get(r["stage"]) or "open"] += r["n"]
    closed = totals["won"] + totals["lost"]
    times = {r["stage"]: r for r in await conn.fetch(_STAGE_TIMES, pipeline_id)}
    return {
        "pipeline_id": pipeline_id,
        "deals": totals,
        "win_rate": round(totals["won"] / closed, 4) if closed else None,
        "stages": [
            {
                "stage": s.name,
                "avg_days": round(float(times[s.name]["avg_days"]), 3) if s.name in times else None,
                "completed_stays": times[s.name]["stays"] if s.name in times else 0,
            }
            for s in stages
            if s.outcome is None
        ],
    }
