"""Known customers' calls, for `make profile KNOWN=1`: every visitor of the bench's load signs in
before the window (contacts makes a customer of each, interactions links both ids), so each
call of the load is a known customer's touch: on the timeline in the accepting transaction,
figures marked due, and applied by campaigns, sales and analytics."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg

from bench.ingest import basic_auth, wait_drained
from bench.payloads import VISITORS, sign_in
from ecrm.embedded.stack import EmbeddedStack

SIGN_INS_A_REQUEST = 100


async def sign_in_every_visitor(
    stack: EmbeddedStack, visitors: int = VISITORS, timeout: float = 300
) -> None:
    """anon-0 .. anon-(visitors - 1), as `payloads.batch` names them, each a new user."""
    auth = {"Authorization": basic_auth(stack.write_key)}
    async with aiohttp.ClientSession(base_url=stack.gateway_url, headers=auth) as session:
        for start in range(0, visitors, SIGN_INS_A_REQUEST):
            end = min(visitors, start + SIGN_INS_A_REQUEST)
            calls = [sign_in(f"anon-{n}") for n in range(start, end)]
            async with session.post("/v1/batch", json={"batch": calls}) as response:
                if response.status != 200:
                    raise RuntimeError(f"sign-ins: {response.status} {await response.text()}")
    dsn = stack.settings.database_dsn("interactions")
    await _every_visitor_linked(dsn, visitors, timeout)
    await wait_drained(dsn, stack.settings.kafka, timeout)


async def _every_visitor_linked(dsn: str, visitors: int, timeout: float) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(int(timeout / 0.5)):
            linked = await conn.fetchval(
                "SELECT count(*) FROM identity_links WHERE kind = 'anonymous_id'"
                " AND value LIKE 'anon-%'"
            )
            if linked >= visitors:
                return
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    raise RuntimeError(f"only {linked} of {visitors} visitors were linked to a customer")
