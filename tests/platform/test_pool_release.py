"""Releasing a pooled connection costs no round trip, and still never hands an open transaction
to the next user."""

from __future__ import annotations

import pytest

from shared.db import create_pool, ensure_database


async def _pool(infra):
    await ensure_database(infra.server_dsn, "ecrm_pool_release")
    return await create_pool(infra.dsn("pool_release"), 1)


async def test_release_sends_no_reset_query(infra):
    pool = await _pool(infra)
    sent: list[str] = []
    try:
        async with pool.acquire() as conn:
            conn.add_query_logger(lambda record: sent.append(record.query))
            async with conn.transaction():
                await conn.fetchval("SELECT 1")
        assert sent == ["BEGIN;", "SELECT 1", "COMMIT;"]  # and no reset query after them
    finally:
        await pool.close()


async def test_a_transaction_left_open_is_rolled_back_on_release(infra):
    pool = await _pool(infra)
    try:
        await pool.execute("CREATE TABLE IF NOT EXISTS pool_release_probe (n int)")
        await pool.execute("TRUNCATE pool_release_probe")
        with pytest.raises(RuntimeError):
            async with pool.acquire() as conn:
                transaction = conn.transaction()
                await transaction.start()  # unmanaged: nothing will commit or roll it back
                await conn.execute("INSERT INTO pool_release_probe VALUES (1)")
                raise RuntimeError("the handler failed mid-transaction")
        async with pool.acquire() as conn:  # the same, only connection
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM pool_release_probe") == 0
    finally:
        await pool.close()
