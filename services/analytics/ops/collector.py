"""The ops snapshot: health, lag, outbox backlog, dead letters and error rates of every service.

Collected on demand and kept about a second, so any number of dashboards polling costs one
collection per second. Services are found through the topology; a service's topics come from
its /healthz (remembered, so a service that is down still shows the lag it leaves behind).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from ecrm.topology import available_services, service_url
from services.analytics.ops import kafka, scrape
from shared.settings import Settings

CACHE_S = 1.0
HTTP_TIMEOUT_S = 3.0
KEEPALIVE_S = 2.0


class OpsCollector:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._snapshot: dict[str, Any] | None = None
        self._taken = 0.0
        self._lock = asyncio.Lock()
        self._topics: dict[str, list[str]] = {}
        self._previous: dict[str, tuple[float, dict[str, float]]] = {}
        # One client for the collector's life: a new one built an SSL context every collection
        # (24-43 ms of CPU, a fifth of an idle analytics process), for plain-HTTP calls.
        self._http: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            # Idle connections dropped before the services' own 5 s keep-alive drops them.
            limits = httpx.Limits(keepalive_expiry=KEEPALIVE_S)
            self._http = httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, limits=limits)
        return self._http

    async def snapshot(self) -> dict[str, Any]:
        if self._fresh():
            assert self._snapshot is not None
            return self._snapshot
        async with self._lock:  # one collection at a time; waiters reuse its result
            if not self._fresh():
                self._snapshot = await self._collect()
                self._taken = time.monotonic()
            assert self._snapshot is not None
            return self._snapshot

    def _fresh(self) -> bool:
        return self._snapshot is not None and time.monotonic() - self._taken < CACHE_S

    async def _collect(self) -> dict[str, Any]:
        names = available_services()
        client = self._client()
        health, scraped = await asyncio.gather(
            asyncio.gather(*(self._health(client, n) for n in names)),
            asyncio.gather(*(self._scrape(client, n) for n in names)),
        )
        for item in health:
            if item.get("topics"):
                self._topics[item["name"]] = item["topics"]
        lags, dlq = await asyncio.gather(
            asyncio.gather(
                *(
                    kafka.group_lag(self.settings.kafka, n, self._topics[n])
                    for n in names
                    if self._topics.get(n)
                )
            ),
            self._dead_letters(),
        )
        return self._assemble(health, dict(zip(names, scraped, strict=True)), list(lags), dlq)

    async def _health(self, client: httpx.AsyncClient, name: str) -> dict[str, Any]:
        url = service_url(self.settings, name)
        try:
            response = await client.get(f"{url}/healthz")
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return {"name": name, "status": "down", "error": type(exc).__name__}
        return {
            "name": name,
            "status": str(body.get("status", "unknown")),
            "consumer": body.get("consumer"),
            "topics": [t for t in body.get("topics", []) if isinstance(t, str)],
        }

    async def _scrape(self, client: httpx.AsyncClient, name: str) -> scrape.ServiceMetrics | None:
        try:
            response = await client.get(f"{service_url(self.settings, name)}/metrics")
            response.raise_for_status()
            return scrape.parse(response.text, name)
        except (httpx.HTTPError, ValueError):
            return None

    async def _dead_letters(self) -> dict[str, Any]:
        try:
            counts = await kafka.dead_letter_counts(self.settings.kafka)
        except Exception as exc:  # broker away: the rest of the snapshot still helps
            return {"total": None, "topics": [], "error": type(exc).__name__}
        topics = [{"topic": t, "count": c} for t, c in sorted(counts.items())]
        return {"total": sum(counts.values()), "topics": topics}

    def _rates(self, name: str, metrics: scrape.ServiceMetrics) -> dict[str, float | None]:
        now, counters = time.monotonic(), metrics.counters()
        before = self._previous.get(name)
        self._previous[name] = (now, counters)
        if before is None:
            return scrape.rates(counters, None, 0)
        return scrape.rates(counters, before[1], now - before[0])

    def _assemble(
        self,
        health: list[dict[str, Any]],
        scraped: dict[str, scrape.ServiceMetrics | None],
        lags: list[dict[str, Any]],
        dlq: dict[str, Any],
    ) -> dict[str, Any]:
        outbox, errors, queues = [], [], []
        for name, metrics in scraped.items():
            if metrics is None:
                outbox.append({"service": name, "backlog": None, "published_total": None})
                continue
            queues += [
                {"service": name, "queue": q, **v} for q, v in sorted(metrics.queues.items())
            ]
            outbox.append(
                {
                    "service": name,
                    "backlog": metrics.outbox_backlog,
                    "published_total": metrics.published,
                }
            )
            errors.append(
                {
                    "service": name,
                    **self._rates(name, metrics),
                    "relay_errors_total": metrics.relay_errors,
                    "consumer_errors_total": metrics.consumer_errors,
                    "dead_lettered_total": metrics.dead_lettered,
                }
            )
        known_lags = [g["total"] for g in lags if g["total"] is not None]
        backlogs = [o["backlog"] for o in outbox if o["backlog"] is not None]
        return {
            "collected_at": datetime.now(UTC),
            "healthy": all(h["status"] == "ok" for h in health) and "error" not in dlq,
            "services": health,
            "lag": {"total": sum(known_lags), "groups": lags},
            "outbox": {"total_backlog": sum(backlogs), "services": outbox},
            "dlq": dlq,
            "errors": {"services": errors},
            "queues": {"services": queues},
        }
