"""Invariants of the read side: analytics counts, segment membership, scores, and customers'
order and touch figures equal to a recomputation from their own sources."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from services.interactions.timeline_domain import DERIVED_TYPES, UNCOUNTED_CHANNEL
from shared.settings import Settings
from tests.reliability.checks import Check, count_once, database, table_exists
from tests.reliability.ledger import Ledger


async def outbox_totals(settings: Settings, services: list[str]) -> Counter[str]:
    """Events ever written to every outbox, by event name (ce_type `ecrm.<owner>.<Name>.v1`)."""
    totals: Counter[str] = Counter()
    for name in services:
        async with database(settings, name) as conn:
            for row in await conn.fetch("SELECT ce_type, count(*) AS n FROM outbox GROUP BY 1"):
                totals[row["ce_type"].split(".")[2]] += row["n"]
    return totals


async def analytics_checks(
    settings: Settings, ledger: Ledger, services: list[str], store: str
) -> list[Check]:
    counts, orders = Check("analytics.event_counts"), Check("analytics.orders")
    async with database(settings, "analytics") as conn:
        if not await table_exists(conn, "event_counts"):
            counts.problems.append("analytics has no event_counts table")
            return [counts]
        rows = await conn.fetch(
            "SELECT event_type, sum(count)::bigint AS n FROM event_counts GROUP BY 1"
        )
        stored = await conn.fetch(
            "SELECT order_id, count(*) AS n FROM orders WHERE store_id = $1 GROUP BY 1", store
        )
    counted = {r["event_type"]: r["n"] for r in rows}
    for name, published in sorted((await outbox_totals(settings, services)).items()):
        counts.expected += published
        seen = counted.get(name, 0)
        if seen < published:
            counts.lost += [f"{name} x{published - seen}"]
        elif seen > published:
            counts.duplicated += [f"{name} x{seen - published}"]
    count_once(orders, list(ledger.orders), {r["order_id"]: r["n"] for r in stored})
    return [counts, orders]


async def campaign_checks(settings: Settings, ledger: Ledger) -> list[Check]:
    from services.campaigns.rules.parse import inline
    from services.campaigns.store.membership import all_rules, matching_ids

    members, audience = Check("segments.membership"), Check("campaigns.audience")
    async with database(settings, "campaigns") as conn:
        rules = await all_rules(conn)
        for segment_id, rule in rules.items():
            should = {
                str(c) for c in await matching_ids(conn, inline(rule, rules), datetime.now(UTC))
            }
            rows = await conn.fetch(
                "SELECT customer_id::text FROM segment_members WHERE segment_id = $1::uuid",
                segment_id,
            )
            current = {r[0] for r in rows}
            members.expected += len(should)
            members.lost += [f"{segment_id}:{c}" for c in sorted(should - current)]
            if current - should:
                members.problems.append(
                    f"segment {segment_id}: {len(current - should)} members a rebuild drops, "
                    f"e.g. {sorted(current - should)[:5]}"
                )
        live = {
            r[0]: r[1]
            for r in await conn.fetch(
                "SELECT customer_id::text, live FROM audience WHERE customer_id = ANY($1::uuid[])",
                list(ledger.customers.values()),
            )
        }
    merged = ledger.merged_ids()
    audience.expected = len(ledger.customers)
    audience.lost = [c for c in ledger.customers.values() if c not in live]
    wrong = [c for c, is_live in live.items() if is_live == (c in merged)]
    if wrong:
        audience.problems.append(f"{len(wrong)} customers live/merged wrongly: {wrong[:5]}")
    return [members, audience]


_STEADY = """
SELECT coalesce(s.customer_id, h.customer_id)::text AS customer, s.steady_score AS kept,
       coalesce(h.points, 0) AS recomputed
  FROM lead_scores s
  FULL JOIN (SELECT customer_id, sum(points) AS points FROM score_history
              WHERE decay_per_day IS NULL GROUP BY customer_id) h USING (customer_id)
 WHERE s.steady_score IS DISTINCT FROM coalesce(h.points, 0)
"""


async def sales_checks(settings: Settings) -> list[Check]:
    scores = Check("sales.scores")
    async with database(settings, "sales") as conn:
        scores.expected = await conn.fetchval("SELECT count(*) FROM lead_scores")
        for row in await conn.fetch(_STEADY):
            scores.problems.append(
                f"customer {row['customer']}: score {row['kept']} kept, "
                f"{row['recomputed']} recomputed from its history"
            )
        stale = await conn.fetchval(
            "SELECT count(*) FROM score_history h JOIN merged_customers m"
            " ON m.merged_id = h.customer_id"
        )
    if stale:
        scores.problems.append(f"{stale} score history rows still on merged-away customers")
    return [scores]


_METRICS = """
SELECT m.customer_id::text AS customer, m.orders_count AS kept, count(o.id) AS recomputed
  FROM customer_metrics m LEFT JOIN orders o ON o.customer_id = m.customer_id
 GROUP BY m.customer_id, m.orders_count HAVING m.orders_count <> count(o.id)
"""


# Touches are counted as the timeline changes (migration 0010); counted again here from it.
_TOUCHES = f"""
WITH per_channel AS (
    SELECT customer_id, channel, count(*) AS n FROM timeline
    WHERE customer_id IS NOT NULL AND channel <> '{UNCOUNTED_CHANNEL}' AND type <> ALL($1::text[])
    GROUP BY customer_id, channel
), counted AS (
    SELECT customer_id, jsonb_object_agg(channel, n) AS touches FROM per_channel GROUP BY 1
)
SELECT m.customer_id::text AS customer, m.touches AS kept,
       COALESCE(c.touches, '{{}}'::jsonb) AS recounted
  FROM customer_metrics m LEFT JOIN counted c USING (customer_id)
 WHERE m.touches <> COALESCE(c.touches, '{{}}'::jsonb)
"""


async def metrics_checks(settings: Settings) -> list[Check]:
    check = Check("interactions.customer_metrics")
    async with database(settings, "interactions") as conn:
        check.expected = await conn.fetchval("SELECT count(*) FROM customer_metrics")
        for row in await conn.fetch(_METRICS):
            check.problems.append(
                f"customer {row['customer']}: orders_count {row['kept']}, "
                f"{row['recomputed']} orders stored"
            )
        for row in await conn.fetch(_TOUCHES, list(DERIVED_TYPES)):
            check.problems.append(
                f"customer {row['customer']}: touches {row['kept']} kept, "
                f"{row['recounted']} counted from the timeline"
            )
    return [check]
