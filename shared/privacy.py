"""What every service shares for the privacy lifecycle.

- one-way hashes of addresses and identity values (suppression without keeping the value);
- `erased_subjects`: the ids and hashes of erased people, and `guard_erased`, the dispatcher
  filter the runtime installs in every service so an event naming one of them is dropped
  (replays, group resets, late events never bring the data back);
- scrubbing a person's rows out of the service's outbox;
- `merge_moves`: what a merge moved, so an unmerge moves exactly that back;
- capping an export section to what fits in one broker message;
- which services answer privacy requests in this build.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson

from shared import outbox
from shared.cloudevents import Envelope
from shared.events.privacy import ANSWERS, CustomerErased, ExportRequested
from shared.logging import get_logger
from shared.messaging import EventDispatcher

if TYPE_CHECKING:
    from shared.service import Runtime

log = get_logger(__name__)

# Fields of an event's data that can name a person: plain ids, and values compared by hash.
ID_FIELDS = ("customer_id", "merged_id", "restored_id")
VALUE_FIELDS = ("email", "requester_email", "anonymous_id", "user_id", "loyalty_id")
# A section must fit in one broker message (Kafka's default limit is 1 MB), envelope included.
SECTION_LIMIT_BYTES = 900_000
ERASED = "[erased]"


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def email_hash(email: str) -> str:
    """The suppression hash of an address: sha256 of the trimmed, lower-cased address."""
    return sha256_hex(email.strip().lower())


def identity_hash(value: str) -> str:
    """The suppression hash of an identity value (anonymous id, user id, loyalty id)."""
    return sha256_hex(value)


@functools.lru_cache(maxsize=65_536)  # consumers hash the same visitors' ids batch after batch
def value_hashes(value: str) -> frozenset[str]:
    """Every hash `value` could have been stored under (as an identity, or as an address)."""
    return frozenset((identity_hash(value), email_hash(value)))


def subject_values(env: Envelope) -> set[str]:
    """The ids and hashes that would mark this event as one about an erased person."""
    found: set[str] = set()
    add_subject_values(env, found)
    return found


def add_subject_values(env: Envelope, found: set[str]) -> None:
    """`subject_values(env)`, added to `found`: the guard collects a whole batch's at once."""
    data = env.data
    values = {v for v in (env.key, env.subject) if v}
    found.update(values)
    for field in ID_FIELDS:
        if value := data.get(field):
            found.add(str(value))
    for field in VALUE_FIELDS:
        if value := data.get(field):
            values.add(str(value))
    identity = data.get("identity")
    if isinstance(identity, dict) and identity.get("value"):
        values.add(str(identity["value"]))
    for item in data.get("identities") or ():
        if isinstance(item, dict) and item.get("value"):
            values.add(str(item["value"]))
    for value in values:
        found.update(value_hashes(value))


def is_privacy_topic(topic: str) -> bool:
    """Privacy requests and answers are never dropped: they are how erasure itself travels."""
    return topic.endswith(".privacy")


async def erased_among(conn: asyncpg.Connection, values: Iterable[str]) -> set[str]:
    # Sorted here: PostgreSQL sorts the keys of an index scan on `= ANY`, and sorting a batch's
    # ~1,200 hashes costs it ~140 us, Python ~60.
    wanted = sorted(set(values))
    if not wanted:
        return set()
    rows = await conn.fetch(
        "SELECT value FROM erased_subjects WHERE value = ANY($1::text[])", wanted
    )
    return {r["value"] for r in rows}


async def remember_erased(
    conn: asyncpg.Connection, customer_id: str, ids: Iterable[str], hashes: Iterable[str]
) -> None:
    """Record an erased person (its ids and hashes) so consumers drop their events from now on."""
    values = sorted(set(ids) | set(hashes))
    await conn.execute(
        "INSERT INTO erased_subjects (value, customer_id) SELECT unnest($1::text[]), $2"
        " ON CONFLICT (value) DO NOTHING",
        values,
        uuid.UUID(customer_id),
    )


async def is_erased(conn: asyncpg.Connection, customer_id: uuid.UUID | str) -> bool:
    return bool(await erased_among(conn, [str(customer_id)]))


async def drop_erased(conn: asyncpg.Connection, envs: list[Envelope]) -> list[Envelope]:
    """The events that do not name an erased person (privacy requests and answers always pass).
    One query for the whole batch; each event's own values are looked at again only when some
    of them were erased."""
    wanted: set[str] = set()
    for env in envs:
        if not is_privacy_topic(env.topic):
            add_subject_values(env, wanted)
    erased = await erased_among(conn, wanted)
    if not erased:
        return envs
    return [e for e in envs if is_privacy_topic(e.topic) or subject_values(e).isdisjoint(erased)]


def guard_erased(dispatcher: EventDispatcher) -> None:
    """Drop the events that name an erased person, once per batch, before any handler runs."""
    if drop_erased not in dispatcher.filters:
        dispatcher.filters.append(drop_erased)


async def scrub_outbox(conn: asyncpg.Connection, values: Iterable[str]) -> int:
    """Delete the outbox rows (published or not) keyed by, or mentioning, any of `values`.

    Kept: privacy requests and erasure answers (they hold ids and hashes only). Deleting, rather
    than rewriting, means `ecrm replay` has nothing of the person left to republish.
    """
    wanted = sorted({v for v in values if v and len(v) >= 3})
    if not wanted:
        return 0
    patterns = [f"%{_like_escaped(v)}%" for v in wanted]
    status = await conn.execute(
        "DELETE FROM outbox WHERE (key = ANY($1::text[]) OR subject = ANY($1::text[])"
        "   OR data::text ILIKE ANY($2::text[]))"
        " AND NOT (topic LIKE '%.privacy' AND ce_type NOT LIKE '%.ExportContributed.%')",
        wanted,
        patterns,
    )
    return int(status.split()[-1])


def _like_escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


async def remember_moves(
    conn: asyncpg.Connection, merged: uuid.UUID, survivor: uuid.UUID, kind: str, items: list[str]
) -> None:
    if items:
        await conn.execute(
            "INSERT INTO merge_moves (merged_id, survivor_id, kind, item)"
            " SELECT $1, $2, $3, unnest($4::text[]) ON CONFLICT DO NOTHING",
            merged,
            survivor,
            kind,
            items,
        )


async def take_moves(
    conn: asyncpg.Connection, merged: uuid.UUID, survivor: uuid.UUID, kind: str
) -> list[str]:
    """What a merge of `merged` into `survivor` moved (forgotten once taken: undone once)."""
    rows = await conn.fetch(
        "DELETE FROM merge_moves WHERE merged_id = $1 AND survivor_id = $2 AND kind = $3"
        " RETURNING item",
        merged,
        survivor,
        kind,
    )
    return [r["item"] for r in rows]


def jsonable(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Database rows as plain JSON values (ids, times and decimals as strings)."""
    return [orjson.loads(orjson.dumps(dict(r), default=str)) for r in rows]


def cap_section(section: dict[str, Any], limit: int = SECTION_LIMIT_BYTES) -> dict[str, Any]:
    """The section, with its longest lists cut from the end until it fits `limit` bytes.

    What was cut is named under `truncated`: {list name: how many items the full list had}.
    """
    out = dict(section)
    truncated: dict[str, int] = {}
    while len(orjson.dumps(out, default=str)) > limit:
        lists = [k for k, v in out.items() if isinstance(v, list) and v]
        if not lists:
            raise ValueError("the export section does not fit in one message")
        longest = max(lists, key=lambda k: len(orjson.dumps(out[k], default=str)))
        truncated.setdefault(longest, len(section[longest]))
        out[longest] = out[longest][: len(out[longest]) // 2]
        out["truncated"] = truncated
    return out


def days_setting(name: str, default: int, environ: Mapping[str, str] | None = None) -> int:
    """A retention period in whole days from the environment (at least 1), else `default`."""
    value = (os.environ if environ is None else environ).get(name, "").strip()
    if not value:
        return default
    try:
        days = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of days, not {value!r}") from None
    if days < 1:
        raise ValueError(f"{name} must be at least 1 day")
    return days


async def purge_every(
    interval_seconds: float, purge: Callable[[], Awaitable[int]], what: str, stop: asyncio.Event
) -> None:
    """A retention loop: run `purge` now and every `interval_seconds` until `stop` is set."""
    while not stop.is_set():
        try:
            purged = await purge()
            if purged:
                log.info("retention.purged", what=what, rows=purged)
        except Exception as exc:  # the database away: try again next round
            log.warning("retention.failed", what=what, error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_seconds)


def answering_services() -> list[str]:
    """The services whose answers a privacy request waits for.

    `ECRM_PRIVACY_SERVICES` (comma-separated) overrides; by default every service of this build
    (`ecrm.topology.available_services()`) that has a `services.<name>.privacy` module, and
    contacts itself.
    """
    configured = os.environ.get("ECRM_PRIVACY_SERVICES", "").strip()
    if configured:
        return sorted({s.strip() for s in configured.split(",") if s.strip()} | {"contacts"})
    from ecrm.topology import available_services

    return sorted(
        {s for s in available_services() if _has_module(f"services.{s}.privacy")} | {"contacts"}
    )


def _has_module(name: str) -> bool:
    try:
        return find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def erased_ids(event: Any) -> list[uuid.UUID]:
    """The customer of a CustomerErased or ExportRequested and those merged into it."""
    return [uuid.UUID(i) for i in (event.customer_id, *event.merged_ids)]


def erased_hashes(event: Any) -> list[str]:
    return [h for h in (event.email_hash, *event.identity_hashes) if h]


async def answer_erasure(conn: asyncpg.Connection, service: str, event: Any) -> None:
    """Queue the service's ErasureCompleted for a CustomerErased it has applied."""
    completed = ANSWERS[service][0]
    await outbox.add(
        conn,
        completed(
            customer_id=event.customer_id, request_id=event.request_id, service=service,
            at=datetime.now(UTC),
        ),
    )  # fmt: skip


async def answer_export(
    conn: asyncpg.Connection, service: str, event: Any, section: dict[str, Any]
) -> None:
    """Queue the service's ExportContributed (its section, capped to one message)."""
    contributed = ANSWERS[service][1]
    await outbox.add(
        conn,
        contributed(
            customer_id=event.customer_id, request_id=event.request_id, service=service,
            section=cap_section(section), at=datetime.now(UTC),
        ),
    )  # fmt: skip


Erase = Callable[[asyncpg.Connection, str, list, list], Awaitable[Any]]
Section = Callable[[asyncpg.Connection, list], Awaitable[dict[str, Any]]]


def answer_requests(runtime: Runtime, service: str, erase: Erase, section: Section) -> None:
    """The erasure and export handlers every service has: apply the service's own `erase`
    (customer id, ids, hashes) or build its export `section` (ids), then answer naming it."""

    @runtime.on(CustomerErased)
    async def erase_person(conn: asyncpg.Connection, env: Envelope) -> None:
        event = CustomerErased.model_validate(env.data)
        await erase(conn, event.customer_id, erased_ids(event), erased_hashes(event))
        await answer_erasure(conn, service, event)

    @runtime.on(ExportRequested)
    async def export_person(conn: asyncpg.Connection, env: Envelope) -> None:
        event = ExportRequested.model_validate(env.data)
        await answer_export(conn, service, event, await section(conn, erased_ids(event)))
