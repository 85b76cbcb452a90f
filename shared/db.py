"""asyncpg pool, the service's own database, and ordered SQL migrations."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import orjson

from shared.logging import get_logger

log = get_logger(__name__)
PLATFORM_MIGRATIONS = Path(__file__).parent / "migrations"

# Errors that mean "the database is not reachable right now", not "this input is bad".
UNAVAILABLE = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    TimeoutError,
)


async def ensure_database(server_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(server_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
                log.info("database.created", database=name)
            except asyncpg.exceptions.DuplicateDatabaseError:
                pass
    finally:
        await conn.close()


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename,
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


async def create_pool(dsn: str, size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=size,
        init=_init_connection,
        command_timeout=10,  # an API request waits at most this long for the database, then 503
        max_inactive_connection_lifetime=60,
    )


def _migration_files(folder: Path, prefix: str) -> list[tuple[str, Path]]:
    return [(f"{prefix}/{p.name}", p) for p in sorted(folder.glob("*.sql"))]


async def migrate(pool: asyncpg.Pool, service_migrations: Path) -> list[str]:
    """Apply platform then service migrations, each once, in order, each in its own transaction."""
    files = _migration_files(PLATFORM_MIGRATIONS, "platform")
    files += _migration_files(service_migrations, "service")
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for version, path in files:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('schema_migrations'))")
                done = await conn.fetchval(
                    "SELECT 1 FROM schema_migrations WHERE version = $1", version
                )
                if done:
                    continue
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
                applied.append(version)
    if applied:
        log.info("migrations.applied", versions=applied)
    return applied
