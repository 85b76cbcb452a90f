"""asyncpg pool, the service's own database, and ordered SQL migrations."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
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
    # The client's connection is in a state the operation cannot start from (seen once in a
    # chaos run, a request during a PostgreSQL restart): raised before anything is sent, so
    # what the transaction wrote is not committed. Never the input's fault.
    asyncpg.exceptions._base.InternalClientError,
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
            except (asyncpg.exceptions.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                pass  # another worker process of the same service made it first
    finally:
        await conn.close()


def utc_text(column: str) -> str:
    """SQL: the timestamptz `column` as RFC 3339 text in UTC with six digits of microseconds,
    whatever the session's time zone (CloudEvents' `time`, and times inside event data)."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


def dump_json(value: object) -> str:
    """orjson, except for what it refuses (integers past 64 bits): the standard library then.
    Values orjson does not know (asyncpg's UUIDs, a subclass it refuses) go through `_plain`:
    without it, a document holding one id of a known customer fell back whole to the standard
    library, ~20 times slower."""
    try:
        return orjson.dumps(value, default=_plain).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, default=_plain)


def _plain(value: object) -> object:
    """What `json` (or orjson) cannot write itself, as orjson writes its own kinds."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def load_json(text: str | bytes) -> object:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # numbers past 64 bits, which jsonb keeps


async def init_connection(conn: asyncpg.Connection) -> None:
    """JSON and jsonb columns read and written as Python objects."""
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, encoder=dump_json, decoder=load_json, schema="pg_catalog"
        )


_init_connection = init_connection  # the name older tests import


async def keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release. asyncpg's default sends `pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL` to the server on every release: one more round trip per request and
    per consumed batch. Pooled connections hold no session state here (advisory locks are
    transaction-scoped; LISTEN and the consumer's session lock use their own connections), and
    asyncpg still rolls back a transaction left open before this runs."""


@contextlib.asynccontextmanager
async def transaction_starting_with(
    conn: asyncpg.Connection, statement: str
) -> AsyncIterator[None]:
    """A transaction whose first statement (no parameters) travels with BEGIN: one round trip
    where `conn.transaction()` and then the statement take two. Committed when the block ends,
    rolled back when it raises. Not for nesting: `conn.transaction()` inside it refuses."""
    try:
        await conn.execute(f"BEGIN; {statement}")
        yield
    except BaseException:
        if not conn.is_closed() and conn.is_in_transaction():
            with contextlib.suppress(Exception):  # a broken connection: the pool discards it
                await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


COMMAND_TIMEOUT_S = 10.0  # an API request waits at most this long for the database, then 503
ANSWER_MARGIN_S = 1.0


def effect_deadline(sent_at: datetime) -> datetime:
    """The latest server time at which a statement sent at `sent_at` may still take effect.

    Its caller waits `COMMAND_TIMEOUT_S` for the answer, then tells its client that nothing was
    kept. A statement in its own transaction that writes only while `now() < deadline` keeps
    that promise without the two round trips of BEGIN and COMMIT: a server that stalls (frozen,
    or the statement queued in its socket) and runs it later writes nothing. It takes the
    service's and the server's clocks within `ANSWER_MARGIN_S` of each other."""
    return sent_at + timedelta(seconds=COMMAND_TIMEOUT_S - ANSWER_MARGIN_S)


async def create_pool(dsn: str, size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=size,
        init=init_connection,
        reset=keep_session,
        command_timeout=COMMAND_TIMEOUT_S,
        max_inactive_connection_lifetime=60,
    )


def _migration_files(folder: Path, prefix: str) -> list[tuple[str, Path]]:
    return [(f"{prefix}/{p.name}", p) for p in sorted(folder.glob("*.sql"))]


async def migrate(pool: asyncpg.Pool, service_migrations: Path) -> list[str]:
    """Apply platform then service migrations, each once, in order, each in its own transaction."""
    files = _migration_files(PLATFORM_MIGRATIONS, "platform")
    files += _migration_files(service_migrations, "service")
    applied: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        # Worker processes of one service start together: one migrates, the others wait.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('schema_migrations'))")
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
