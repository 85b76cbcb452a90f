"""`make profile`: where the time goes at one fixed tracking rate (or under the bench's customer
creates, `--creates`, with a known customer's calls one at a time, `--lone`, with every visitor
of the load a known customer, `--known`, under a shop's orders, `--orders`, or while a campaign
is sent, `--mails`), on a fresh embedded stack.

The figures behind bench/RESULTS.md's tables: CPU of each component per event, PostgreSQL's
statements (pg_stat_statements, preloaded for this stack only; how many per event, and the
costliest) and its WAL per event and per
relation (pg_walinspect), and with `--py-spy DIR` each service's py-spy summary (`bench.spy`:
its samples, the share on lines that write to a socket, and over the rest the share of each
owner of code and the top frames; py-spy's samples are time a process wanted a core, so the
CPU to compare them with is given beside them). One JSON object is printed last.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import uvloop
from aiosmtpd.controller import Controller

from bench import creates, e2e, ingest, known, mails, payloads, segments, spy
from bench.cpu import CpuMeter, us_per_event
from bench.orders import OrderLoad
from ecrm.embedded.stack import EmbeddedStack
from ecrm.ports import free_port, settings_on_free_ports

NOT_PYTHON = {"postgres", "broker", "gateway"}
TOP = 12
SPY_HZ = 100


Load = Callable[[EmbeddedStack, float], Awaitable[tuple[int, dict[str, Any]]]]
Prepare = Callable[[EmbeddedStack], Awaitable[None]]  # before the measured window


async def run(
    load: Load,
    seconds: float,
    spy_dir: Path | None,
    prepare: Prepare | None = None,
    **settings: Any,
) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="ecrm-profile-"))
    settings.setdefault("embedded_pg_options", "shared_preload_libraries=pg_stat_statements")
    try:
        with EmbeddedStack(settings_on_free_ports(home, **settings)) as stack:
            await _warm_up(stack)
            if prepare is not None:
                await prepare(stack)
            return await _profile(stack, load, seconds, spy_dir)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def tracking(rate: float, sign_ins: float = 0.0, visitors: int = payloads.VISITORS) -> Load:
    """Tracking batches at `rate` events/s from `visitors` distinct visitors; an event is one
    tracked call, a `sign_ins` share of them signing a visitor in as a new user."""

    async def load(stack: EmbeddedStack, seconds: float) -> tuple[int, dict[str, Any]]:
        dsn, bootstrap = stack.settings.database_dsn("interactions"), stack.settings.kafka
        result = await ingest.open_loop(
            stack.gateway_url,
            stack.write_key,
            rate,
            seconds,
            seed=7,
            sign_ins=sign_ins,
            visitors=visitors,
        )
        drain = await ingest.wait_drained(dsn, bootstrap, 120)
        return result.accepted_events, {
            "rate": rate,
            "achieved": round(result.achieved_events_per_s),
            "ack_p50_ms": round(result.percentile(0.50), 1),
            "ack_p99_ms": round(result.percentile(0.99), 1),
            "errors": dict(result.error_kinds),
            "drain_s": None if drain is None else round(drain, 2),
        }

    return load


async def customer_creates(stack: EmbeddedStack, seconds: float) -> tuple[int, dict[str, Any]]:
    """Creates through the gateway as the bench makes them (wrk, 64 connections); an event is
    one create, applied by every consumer of the customer stream."""
    c = await asyncio.to_thread(
        creates.customer_creates, stack.gateway_url, stack.admin_token, int(seconds), 64, "prof"
    )
    dsn, bootstrap = stack.settings.database_dsn("contacts"), stack.settings.kafka
    drain = await ingest.wait_drained(dsn, bootstrap, 120, (creates.CUSTOMERS,))
    return round(c["req_per_s"] * int(seconds)), {
        "creates_per_s": round(c["req_per_s"]),
        "p99_ms": c.get("p99_ms"),
        "errors": c["errors"] + c["non_2xx"],
        "drain_s": None if drain is None else round(drain, 2),
    }


class LoneCalls:
    """A known customer's touches one at a time: an identified `track` call every `every` s
    and nothing else, as the end-to-end probe sends them. An event is one call; each consumer
    applies it in a batch of its own."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.user_id = ""

    async def prepare(self, stack: EmbeddedStack) -> None:
        """The customer, made and linked before the window."""
        async with aiohttp.ClientSession(base_url=stack.gateway_url) as session:
            self.user_id, _ = await e2e.identified_probe(
                session, stack.write_key, stack.admin_token
            )
        dsn, bootstrap = stack.settings.database_dsn("interactions"), stack.settings.kafka
        await ingest.wait_drained(dsn, bootstrap, 60)

    async def __call__(self, stack: EmbeddedStack, seconds: float) -> tuple[int, dict[str, Any]]:
        accepted: dict[str, float] = {}
        async with aiohttp.ClientSession(base_url=stack.gateway_url) as session:
            sent = await e2e.send_calls(
                session, stack.write_key, self.user_id, seconds, self.every, accepted
            )
        dsn, bootstrap = stack.settings.database_dsn("interactions"), stack.settings.kafka
        drain = await ingest.wait_drained(dsn, bootstrap, 60)
        return len(accepted), {
            "every_s": self.every,
            "calls": sent,
            "errors": sent - len(accepted),
            "drain_s": None if drain is None else round(drain, 2),
        }


def _with_segments(prepare: Prepare | None, count: int) -> Prepare | None:
    if not count:
        return prepare

    async def segments_then(stack: EmbeddedStack) -> None:
        await segments.define(stack, count)
        if prepare is not None:
            await prepare(stack)

    return segments_then


async def _warm_up(stack: EmbeddedStack) -> None:
    dsn, bootstrap = stack.settings.database_dsn("interactions"), stack.settings.kafka
    await ingest.open_loop(stack.gateway_url, stack.write_key, 2000, 3, seed=5)
    await ingest.wait_drained(dsn, bootstrap, 60)


async def _profile(
    stack: EmbeddedStack, load: Load, seconds: float, spy_dir: Path | None
) -> dict[str, Any]:
    admin = await asyncpg.connect(stack.settings.server_dsn)
    try:
        for extension in ("pg_stat_statements", "pg_walinspect"):
            await admin.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
        await admin.execute("SELECT pg_stat_statements_reset()")
        start_lsn = await admin.fetchval("SELECT pg_current_wal_lsn()")
        spies = _start_py_spy(stack.pids(), seconds, spy_dir) if spy_dir else []
        meter = CpuMeter(stack.pids())
        meter.start()
        started = time.perf_counter()
        events, report = await load(stack, seconds)
        span = time.perf_counter() - started
        cores = meter.stop(span)
        for spy in spies:
            spy.wait()
        end_lsn = await admin.fetchval("SELECT pg_current_wal_lsn()")
        events = max(1, events)
        report |= {
            "events": events,
            "span_s": round(span, 2),
            "cpu_cores": cores,
            "us_per_event": {k: round(v) for k, v in us_per_event(cores, span, events).items()},
            "statements_per_event": await _statements_per_event(admin, events),
            "statements": await _statements(admin, events),
            "wal": await _wal(admin, stack, start_lsn, end_lsn, events),
        }
    finally:
        await admin.close()
    return report


def _start_py_spy(pids: dict[str, int], seconds: float, out: Path) -> list[subprocess.Popen]:
    out.mkdir(parents=True, exist_ok=True)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    argv = [py_spy, "record", "--subprocesses", "--gil", "--nonblocking", "-r", str(SPY_HZ)]
    argv += ["-f", "raw"]
    argv += ["-d", str(max(1, int(seconds)))]
    return [
        subprocess.Popen(
            [*argv, "-p", str(pid), "-o", str(out / f"{name}.txt")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
        if name not in NOT_PYTHON
    ]


async def _statements(admin: asyncpg.Connection, events: int) -> list[dict[str, Any]]:
    rows = await admin.fetch(
        "SELECT d.datname, s.calls, s.total_exec_time,"
        " left(regexp_replace(s.query, '\\s+', ' ', 'g'), 100) AS query"
        " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
        " ORDER BY s.total_exec_time DESC LIMIT $1",
        TOP,
    )
    return [
        {
            "database": r["datname"],
            "calls": r["calls"],
            "us_per_event": round(r["total_exec_time"] * 1000 / events, 1),
            "query": r["query"],
        }
        for r in rows
    ]


async def _statements_per_event(admin: asyncpg.Connection, events: int) -> float:
    """Statements the services ran (their databases only), per event."""
    total = await admin.fetchval(
        "SELECT coalesce(sum(s.calls), 0)::bigint FROM pg_stat_statements s"
        " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname LIKE 'ecrm\\_%'"
    )
    return round(total / events, 1)


async def _wal(
    admin: asyncpg.Connection, stack: EmbeddedStack, start: str, end: str, events: int
) -> dict[str, Any]:
    total = await admin.fetchval("SELECT $2::pg_lsn - $1::pg_lsn", start, end)
    try:
        blocks = await admin.fetch(
            "SELECT relfilenode, sum(block_data_length + block_fpi_length) AS bytes"
            " FROM pg_get_wal_block_info($1, $2) GROUP BY relfilenode ORDER BY bytes DESC LIMIT $3",
            start,
            end,
            TOP,
        )
    except asyncpg.exceptions.UndefinedFileError:  # a long run: its first segments are recycled
        return {"bytes_per_event": round(total / events), "by_relation": None}
    names = await _relation_names(stack)
    return {
        "bytes_per_event": round(total / events),
        "by_relation": {
            names.get(r["relfilenode"], str(r["relfilenode"])): round(r["bytes"] / events)
            for r in blocks
        },
    }


async def _relation_names(stack: EmbeddedStack) -> dict[int, str]:
    admin = await asyncpg.connect(stack.settings.server_dsn)
    try:
        databases = await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'ecrm_%'")
    finally:
        await admin.close()
    names: dict[int, str] = {}
    for row in databases:
        service = row["datname"].removeprefix("ecrm_")
        conn = await asyncpg.connect(stack.settings.database_dsn(service))
        try:
            for r in await conn.fetch("SELECT relfilenode, relname FROM pg_class"):
                names[r["relfilenode"]] = f"{service}.{r['relname']}"
        finally:
            await conn.close()
    return names


def py_spy_summaries(spy_dir: Path, report: dict[str, Any]) -> dict[str, Any]:
    """Each service's summary, with the seconds py-spy sampled it holding the GIL beside the CPU
    seconds it used. py-spy records the load's seconds, the CPU counts its drain too; under load
    the first is larger all the same."""
    summaries = {}
    for raw in sorted(spy_dir.glob("*.txt")):
        summary = spy.summarise(raw, TOP)
        cpu_s = report["cpu_cores"].get(raw.stem, 0.0) * report["span_s"]
        summaries[raw.stem] = {
            "sampled_s": round(summary["samples"] / SPY_HZ, 1),
            "cpu_s": round(cpu_s, 1),
            **summary,
        }
    return summaries


def _sender_settings(args: argparse.Namespace) -> tuple[dict[str, Any], Controller | None]:
    """The sender's settings reach campaigns through the environment; with `--relay-rtt-ms` the
    stack's relay is one in this process (stop it after the run)."""
    for name, value in (
        ("ECRM_CAMPAIGNS_SEND_RATE", args.send_rate),
        ("ECRM_CAMPAIGNS_SMTP_CONNECTIONS", args.smtp_connections),
    ):
        if value is not None:
            os.environ[name] = str(value)
    if args.relay_rtt_ms is None:
        return {}, None
    port = free_port()
    return {"smtp_url": f"smtp://127.0.0.1:{port}"}, mails.distant_relay(args.relay_rtt_ms, port)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--rate", type=float, default=5000, help="tracking events per second")
    parser.add_argument(
        "--creates", action="store_true", help="customer creates (wrk, 64 connections) instead"
    )
    parser.add_argument(
        "--sign-ins", type=float, default=0.0, help="share of calls signing in a new user"
    )
    parser.add_argument(
        "--lone",
        type=float,
        metavar="EVERY",
        help="instead: a known customer's track call every EVERY s, and nothing else",
    )
    parser.add_argument(
        "--known",
        action="store_true",
        help="every visitor of the load signed in as a customer before the window",
    )
    parser.add_argument(
        "--segments",
        type=int,
        default=0,
        metavar="N",
        help="segments defined before the window (`bench.segments.TYPICAL`)",
    )
    parser.add_argument(
        "--visitors",
        type=int,
        default=payloads.VISITORS,
        help="distinct visitors of the tracking load",
    )
    parser.add_argument(
        "--orders",
        type=float,
        metavar="RATE",
        help="instead: orders a second through the gateway, each naming a known customer",
    )
    parser.add_argument(
        "--mails",
        type=int,
        metavar="N",
        help="instead: a campaign to N subscribed customers, from launch to its last outcome",
    )
    parser.add_argument(
        "--send-rate", type=float, help="with --mails: ECRM_CAMPAIGNS_SEND_RATE (mails/s)"
    )
    parser.add_argument(
        "--smtp-connections", type=int, help="with --mails: ECRM_CAMPAIGNS_SMTP_CONNECTIONS"
    )
    parser.add_argument(
        "--relay-rtt-ms",
        type=float,
        help="with --mails: a relay in this process answering each command after this delay",
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--py-spy", type=Path, metavar="DIR", help="record py-spy stacks here")
    args = parser.parse_args(argv)
    prepare = None
    settings: dict[str, Any] = {}
    relay: Controller | None = None
    if args.lone:
        load = lone = LoneCalls(args.lone)
        prepare = lone.prepare
    elif args.orders:
        load = shop = OrderLoad(args.orders)
        prepare = shop.prepare
    elif args.mails:
        load = campaign = mails.CampaignSend(args.mails)
        prepare = campaign.prepare
        settings, relay = _sender_settings(args)
    else:
        load = (
            customer_creates if args.creates else tracking(args.rate, args.sign_ins, args.visitors)
        )
        if args.known:
            prepare = functools.partial(known.sign_in_every_visitor, visitors=args.visitors)
    prepare = _with_segments(prepare, args.segments)
    try:
        report = uvloop.run(run(load, args.seconds, args.py_spy, prepare, **settings))
    finally:
        if relay is not None:
            relay.stop()
    if args.py_spy:
        report["py_spy"] = py_spy_summaries(args.py_spy, report)
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
