"""The embedded PostgreSQL: a real server on its TCP port, restarted after a crash, data kept."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from ecrm.embedded import postgres
from ecrm.embedded.supervisor import Child, Supervisor
from shared.settings import Settings


async def answers(dsn: str) -> bool:
    try:
        return await postgres.is_ready(dsn)
    except (OSError, asyncpg.PostgresError):
        return False


@pytest.fixture
async def running(make_settings: Callable[..., Settings]) -> AsyncIterator[tuple[Settings, Child]]:
    settings = make_settings()
    sup = Supervisor(settings.home / "run", settings.home / "logs")
    layout = await asyncio.to_thread(postgres.prepare, settings)
    child = await sup.start(postgres.postgres_spec(settings, layout))
    try:
        yield settings, child
    finally:
        await sup.stop()


async def test_accepts_connections_on_its_port(running: tuple[Settings, Child]) -> None:
    settings, _ = running
    conn = await asyncpg.connect(postgres.server_dsn(settings))
    try:
        version = await conn.fetchval("SHOW server_version")
        max_connections = await conn.fetchval("SHOW max_connections")
        fsync = await conn.fetchval("SHOW fsync")
        encoding = await conn.fetchval("SHOW server_encoding")
        backend_flush_after = await conn.fetchval("SHOW backend_flush_after")
    finally:
        await conn.close()
    assert version.startswith("18.")
    assert (max_connections, fsync, encoding) == ("300", "on", "UTF8")
    assert backend_flush_after == "256kB"  # no bursts of the kernel's writeback
    if os.geteuid() == 0:
        assert (settings.home / "pg").owner() == postgres.OS_USER


async def test_restarts_after_the_postmaster_is_killed_and_keeps_data(
    running: tuple[Settings, Child],
) -> None:
    settings, child = running
    dsn = postgres.server_dsn(settings)
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE survivors (name text PRIMARY KEY)")
    await conn.execute("INSERT INTO survivors VALUES ('alice'), ('bob')")
    await conn.close()
    initialised = (settings.home / "pg" / "PG_VERSION").stat().st_mtime_ns
    first = child.pid
    assert first is not None

    os.kill(first, signal.SIGKILL)
    for _ in range(300):
        if child.pid != first and await answers(dsn):
            break
        await asyncio.sleep(0.05)

    assert child.crashes[0].exit_code == -signal.SIGKILL
    conn = await asyncpg.connect(dsn)
    try:
        names = await conn.fetch("SELECT name FROM survivors ORDER BY name")
    finally:
        await conn.close()
    assert [r["name"] for r in names] == ["alice", "bob"]
    assert (settings.home / "pg" / "PG_VERSION").stat().st_mtime_ns == initialised
