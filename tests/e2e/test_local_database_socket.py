"""On the embedded stack, every service reaches PostgreSQL through its Unix socket."""

from __future__ import annotations

import asyncpg

from ecrm.embedded import postgres
from ecrm.topology import available_services
from tests.support.events import eventually


async def test_services_connect_over_the_unix_socket(stack):
    databases = {f"ecrm_{name}" for name in available_services()}
    conn = await asyncpg.connect(postgres.server_dsn(stack.settings))
    try:

        async def every_service_connected() -> bool:
            rows = await conn.fetch(
                "SELECT datname FROM pg_stat_activity WHERE datname LIKE 'ecrm\\_%'"
            )
            return databases <= {r["datname"] for r in rows}

        await eventually(every_service_connected, timeout=60, interval=0.5)
        over_tcp = await conn.fetch(
            "SELECT datname, client_addr::text FROM pg_stat_activity"
            " WHERE datname LIKE 'ecrm\\_%' AND client_addr IS NOT NULL"
        )
    finally:
        await conn.close()
    assert over_tcp == []
