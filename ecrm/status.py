"""What `ecrm status` and `ecrm replay` do: read the parts of a running stack."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import asyncpg
import httpx

from ecrm.embedded.broker import resident_mb
from ecrm.embedded.supervisor import recorded_pids
from ecrm.topology import available_services, service_url
from shared import outbox
from shared.events.catalogue import all_topics
from shared.kafka_admin import consumer_lag, events_held
from shared.settings import Settings


async def _service_health(
    client: httpx.AsyncClient, settings: Settings, name: str
) -> dict[str, Any]:
    try:
        response = await client.get(f"{service_url(settings, name)}/healthz", timeout=2)
        return {"name": name, **response.json(), "http": response.status_code}
    except (httpx.HTTPError, ValueError) as exc:
        return {"name": name, "status": "down", "error": type(exc).__name__}


async def _backlog(settings: Settings, name: str) -> int | None:
    try:
        conn = await asyncpg.connect(settings.database_dsn(name), timeout=3)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        return await outbox.backlog(conn)
    except asyncpg.PostgresError:
        return None
    finally:
        await conn.close()


async def _lag(settings: Settings, name: str, topics: list[str]) -> dict[str, Any]:
    if not topics:
        return {"group": name, "total": 0, "partitions": []}
    try:
        parts = await asyncio.wait_for(consumer_lag(settings.kafka, name, topics), 10)
    except Exception as exc:
        return {"group": name, "error": repr(exc)}
    return {
        "group": name,
        "total": sum(p.lag for p in parts),
        "partitions": [
            {"topic": p.topic, "partition": p.partition, "lag": p.lag} for p in parts if p.lag
        ],
    }


async def _events_held(settings: Settings) -> int | None:
    try:
        return await asyncio.wait_for(events_held(settings.kafka, all_topics()), 10)
    except Exception:
        return None


def _embedded_broker_mb(settings: Settings) -> int | None:
    """The embedded broker's resident memory (its log lives there), when this home runs one."""
    return resident_mb(recorded_pids(settings.home / "run").get("broker"))


async def collect(settings: Settings) -> dict[str, Any]:
    names = available_services()
    async with httpx.AsyncClient() as client:
        health = await asyncio.gather(*(_service_health(client, settings, n) for n in names))
        try:
            gateway = (
                await client.get(f"http://127.0.0.1:{settings.gateway_port}/healthz", timeout=3)
            ).status_code
        except httpx.HTTPError:
            gateway = None
    backlogs = await asyncio.gather(*(_backlog(settings, n) for n in names))
    lags = await asyncio.gather(*(_lag(settings, h["name"], h.get("topics", [])) for h in health))
    services = {
        h["name"]: {
            "status": h.get("status"),
            "consumer": h.get("consumer"),
            "outbox_backlog": b,
            "lag": lag,
        }
        for h, b, lag in zip(health, backlogs, lags, strict=True)
    }
    database_up = any(b is not None for b in backlogs)
    broker_up = all("error" not in lag for lag in lags)
    healthy = (
        gateway == 200
        and database_up
        and broker_up
        and all(s["status"] == "ok" for s in services.values())
    )
    broker = {
        "bootstrap": settings.kafka,
        "status": "up" if broker_up else "down",
        "events_held": await _events_held(settings) if broker_up else None,
        "memory_mb": _embedded_broker_mb(settings),
    }
    return {
        "healthy": healthy,
        "gateway": {"port": settings.gateway_port, "http": gateway},
        "database": "up" if database_up else "down",
        "broker": broker,
        "services": services,
    }


def render(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"gateway :{report['gateway']['port']} -> {report['gateway']['http']}   "
        f"database {report['database']}   broker {_broker_line(report['broker'])}"
    )
    table = Table("service", "status", "consumer", "lag", "outbox backlog")
    for name, s in report["services"].items():
        table.add_row(
            name,
            str(s["status"]),
            str(s["consumer"]),
            str(s["lag"].get("total", "?")),
            str(s["outbox_backlog"]),
        )
    console.print(table)
    console.print(
        "healthy" if report["healthy"] else "NOT healthy",
        style="green" if report["healthy"] else "red",
    )


def _broker_line(broker: dict[str, Any]) -> str:
    """`up, 1,234 events held (312 MB)`: the embedded broker's memory grows with what it holds."""
    held, mb = broker.get("events_held"), broker.get("memory_mb")
    parts = [broker["status"]]
    if held is not None:
        parts.append(f", {held:,} events held")
    if mb is not None:
        parts.append(f" ({mb:,} MB)")
    return "".join(parts)


async def replay(settings: Settings, services: list[str], since: datetime | None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in services:
        conn = await asyncpg.connect(settings.database_dsn(name))
        try:
            async with conn.transaction():
                counts[name] = await outbox.mark_for_replay(conn, since)
        finally:
            await conn.close()
    return counts


async def revoke_everywhere(
    settings: Settings, services: list[str], jti: str, expires: int | None
) -> list[str]:
    from datetime import UTC

    from shared.revocation import revoke

    until = datetime.fromtimestamp(expires, UTC) if expires else None
    done = []
    for name in services:
        try:
            conn = await asyncpg.connect(settings.database_dsn(name))
        except asyncpg.InvalidCatalogNameError:
            continue  # that service never ran here: nothing to revoke in
        try:
            await revoke(conn, jti, until)
            done.append(name)
        finally:
            await conn.close()
    return done


async def rotate_write_key(settings: Settings, key: str, grace_s: float) -> None:
    """Store the new key in interactions' database, retire the others, keep ECRM_HOME's copy."""
    import os

    from services.interactions.store.write_keys import rotate

    key_file = settings.home / "write.key"
    old = [k.strip() for k in (settings.write_keys or "").split(",") if k.strip()]
    if key_file.exists():
        old.append(key_file.read_text().strip())
    conn = await asyncpg.connect(settings.database_dsn("interactions"))
    try:
        await rotate(conn, key, old, grace_s)
    finally:
        await conn.close()
    if key_file.parent.exists():
        tmp = key_file.with_suffix(".new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        tmp.replace(key_file)
