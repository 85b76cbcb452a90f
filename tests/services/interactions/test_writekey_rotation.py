"""`ecrm writekey rotate`: a new key works at once, the old one stops after the grace period,
with no restart."""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from services.interactions.store.write_keys import rotate
from tests.support.events import eventually
from tests.support.infra import WRITE_KEY


async def _rotate(infra, grace_hours: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ecrm.cli", "writekey", "rotate", "--grace-hours", grace_hours,
        env=infra.env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return out.decode().strip().splitlines()[-1]


async def _status(http, url: str, key: str) -> int:
    body = {"type": "track", "anonymousId": "rot-1", "event": "Rotated"}
    return (await http.post(f"{url}/v1/track", json=body, auth=(key, ""))).status_code


async def test_rotation_takes_effect_without_restart(infra, interactions, http):
    try:
        await _rotation_flow(infra, interactions, http)
    finally:  # the session's other tests keep using the configured key
        conn = await asyncpg.connect(infra.dsn("interactions"))
        try:
            await rotate(conn, WRITE_KEY, [], 0)
        finally:
            await conn.close()
        await eventually(lambda: _is(_status(http, interactions, WRITE_KEY), 200), timeout=10)


async def _rotation_flow(infra, interactions, http) -> None:
    assert await _status(http, interactions, WRITE_KEY) == 200
    with_grace = await _rotate(infra, "1")
    assert with_grace.startswith("wk_")
    await eventually(lambda: _is(_status(http, interactions, with_grace), 200), timeout=10)
    assert await _status(http, interactions, WRITE_KEY) == 200  # still inside the grace period

    newest = await _rotate(infra, "0")
    await eventually(lambda: _is(_status(http, interactions, newest), 200), timeout=10)
    await eventually(lambda: _is(_status(http, interactions, WRITE_KEY), 401), timeout=10)
    assert await _status(http, interactions, with_grace) == 401
    key_file = (infra.home / "write.key").read_text().strip()
    assert key_file == newest
    assert oct((infra.home / "write.key").stat().st_mode & 0o777) == "0o600"


async def _is(value, expected) -> bool:
    return (await value) == expected
