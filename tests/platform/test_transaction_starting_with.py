"""`transaction_starting_with`: BEGIN and a first statement in one round trip, then commit or
roll back like `conn.transaction()`."""

from __future__ import annotations

import asyncpg
import pytest

from shared.db import create_pool, ensure_database, transaction_starting_with

LOCK = "SELECT pg_advisory_xact_lock(42)"


@pytest.fixture
async def pool(infra):  # type: ignore[no-untyped-def]
    await ensure_database(infra.server_dsn, "ecrm_transaction_starting_with")
    pool = await create_pool(infra.dsn("transaction_starting_with"), 2)
    await pool.execute("CREATE TABLE IF NOT EXISTS probe (n int); TRUNCATE probe")
    yield pool
    await pool.close()


async def _held_elsewhere(pool) -> bool:
    return not await pool.fetchval("SELECT pg_try_advisory_xact_lock(42)")


async def test_commits_with_the_first_statements_effect_held_until_then(pool):
    async with pool.acquire() as conn:
        async with transaction_starting_with(conn, LOCK):
            assert conn.is_in_transaction()
            await conn.execute("INSERT INTO probe VALUES (1)")
            assert await _held_elsewhere(pool)  # the lock is the transaction's
        assert not conn.is_in_transaction()
    assert not await _held_elsewhere(pool)
    assert await pool.fetchval("SELECT count(*) FROM probe") == 1


async def test_rolls_back_when_the_block_raises(pool):
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with transaction_starting_with(conn, LOCK):
                await conn.execute("INSERT INTO probe VALUES (1)")
                raise RuntimeError("the handler failed")
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT count(*) FROM probe") == 0
    assert not await _held_elsewhere(pool)


async def test_a_failing_first_statement_leaves_no_transaction_open(pool):
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.DivisionByZeroError):
            async with transaction_starting_with(conn, "SELECT 1 / 0"):
                raise AssertionError("the block must not run")
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT 1") == 1
