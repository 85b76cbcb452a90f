"""`make profile` on a real stack, briefly; and the reading of py-spy's collapsed stacks."""

from __future__ import annotations

import json
import subprocess
import sys

import asyncpg

from bench import profile, spy

SIGN_INS = ["--sign-ins", "0.02"]  # the option works: 2 % of the calls sign in a new user
KNOWN_100 = ["--visitors", "100", "--rate", "500"]  # 100 customers, 5 calls a second each


RAW = (
    'process 7:"uvicorn";main (a.py:1);handle (services/x/api.py:2);parse (shared/c.py:3) 5\n'
    "main (a.py:1);handle (services/x/api.py:2) 1\n"
    "main (a.py:1);_run_once (asyncio/base_events.py:9) 2\n"
    "main (a.py:1);Router.__call__ (starlette/routing.py:683) 2\n"
    "main (a.py:1);Connection._do_execute (asyncpg/connection.py:2069) 6\n"
    "main (a.py:1);Connection.execute (asyncpg/connection.py:377) 3\n"
    "main (a.py:1);JoinedWrites.flush (shared/http_server.py:51) 1\n"
    "not a sample line\n"
)


def test_a_summary_sets_socket_writes_apart_and_shares_the_rest(tmp_path):
    raw = tmp_path / "svc.txt"
    raw.write_text(RAW)
    summary = spy.summarise(raw, top=3)
    assert summary["samples"] == 20
    assert summary["socket_writes"] == 50.0  # 10 of 20: the statement, BEGIN/COMMIT, the answer
    assert summary["owners"] == {"ours": 60.0, "event loop": 20.0, "starlette": 20.0}
    assert summary["top_frames"] == [
        ("parse (shared/c.py:3)", 50.0),
        ("_run_once (asyncio/base_events.py:9)", 20.0),
        ("Router.__call__ (starlette/routing.py:683)", 20.0),
    ]


def test_the_profile_puts_sampled_seconds_beside_cpu_seconds(tmp_path):
    (tmp_path / "interactions.txt").write_text(RAW)
    report = {"cpu_cores": {"interactions": 0.05}, "span_s": 4.0}
    summaries = profile.py_spy_summaries(tmp_path, report)
    assert summaries["interactions"]["sampled_s"] == 20 / profile.SPY_HZ
    assert summaries["interactions"]["cpu_s"] == 0.2
    assert summaries["interactions"]["socket_writes"] == 50.0


def profiled(*args: str) -> dict:
    """`python -m bench.profile` with these arguments, on a stack of its own: its report."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.profile", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_profile_reports_cpu_statements_and_wal_per_event():
    report = profiled("--rate", "500", "--seconds", "2", *SIGN_INS)
    assert report["achieved"] > 0 and report["errors"] == {}
    assert report["us_per_event"]["interactions"] > 0 and report["us_per_event"]["postgres"] > 0
    # pg_stat_statements was preloaded: the tracking statement (the calls' document) is there
    assert any(
        s["database"] == "ecrm_interactions" and "json_to_recordset" in s["query"]
        for s in report["statements"]
    )
    assert report["wal"]["bytes_per_event"] > 0
    assert any(name.startswith("interactions.") for name in report["wal"]["by_relation"])


def test_profile_of_creates_reports_cpu_and_statements_per_create():
    report = profiled("--creates", "--seconds", "2")
    assert report["creates_per_s"] > 0 and report["errors"] == 0
    assert report["drain_s"] is not None  # every reader of the customer stream caught up
    assert report["us_per_event"]["contacts"] > 0
    assert any(s["database"] == "ecrm_contacts" for s in report["statements"])


async def test_the_wal_of_a_run_whose_first_segments_are_recycled(infra):
    """A long run: the WAL it wrote first is gone by its end. Its size per event is still known;
    the split by relation is not, and the profile says so instead of failing."""
    admin = await asyncpg.connect(infra.server_dsn)
    try:
        await admin.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        start = await admin.fetchval("SELECT pg_current_wal_lsn()")
        for _ in range(8):  # a record, then a new segment: eight segments behind the start
            await admin.execute("SELECT pg_logical_emit_message(false, 'test', 'x')")
            await admin.execute("SELECT pg_switch_wal()")
        await admin.execute("CHECKPOINT")  # the segments before it are removed or recycled
        end = await admin.fetchval("SELECT pg_current_wal_lsn()")
        wal = await profile._wal(admin, None, start, end, events=100)  # type: ignore[arg-type]
    finally:
        await admin.close()
    assert wal["by_relation"] is None
    assert wal["bytes_per_event"] > 8 * 16 * 1024 * 1024 // 100 * 0.9


def test_profile_of_lone_calls_counts_the_statements_each_call_takes():
    """A known customer's calls one at a time: every consumer applies each in a batch of its
    own, so a call costs the tracking transaction, the relay's rounds and every reader's."""
    report = profiled("--lone", "0.2", "--seconds", "2")
    assert report["calls"] >= 9 and report["errors"] == 0 and report["events"] == report["calls"]
    assert report["drain_s"] is not None
    assert report["statements_per_event"] > 10
    assert any(s["database"] == "ecrm_campaigns" for s in report["statements"])


def test_profile_of_orders_places_each_for_a_known_customer():
    """A shop's orders: every one placed (201), resolved to a customer made beforehand, and
    applied by the readers of the order stream before the figures are read."""
    report = profiled("--orders", "20", "--seconds", "2")
    assert report["events"] == 40 and report["errors"] == {} and report["drain_s"] is not None
    assert report["p99_ms"] > 0 and report["us_per_event"]["interactions"] > 0
    queries = {(s["database"], s["query"].split(" (")[0]) for s in report["statements"]}
    assert ("ecrm_interactions", "INSERT INTO orders") in queries
    assert report["statements_per_event"] > 8  # its transaction, and every reader's share


def test_profile_of_known_customers_signs_every_visitor_in_first():
    """Every visitor of the load a customer before the window (and segments defined): each call
    then costs a timeline entry and every reader of the customers' stream, not the few
    statements a visitor's batch of 100 calls costs (~0.1 a call)."""
    report = profiled("--known", *KNOWN_100, "--segments", "3", "--seconds", "2")
    assert report["achieved"] > 0 and report["errors"] == {} and report["drain_s"] is not None
    assert report["statements_per_event"] > 0.5
    timeline = [s for s in report["statements"] if "ref text" in s["query"]]  # entries written
    assert timeline and timeline[0]["database"] == "ecrm_interactions"
    assert report["us_per_event"]["campaigns"] > 0


def test_profile_of_a_campaign_sends_every_mail_through_a_distant_relay():
    """A campaign to subscribed customers, from its launch to its last outcome, through a relay
    that answers each command of a mail 5 ms late: every mail sent once, none refused."""
    report = profiled(
        "--mails", "30", "--send-rate", "1000", "--smtp-connections", "3", "--relay-rtt-ms", "5"
    )
    assert report["sent"] == report["events"] == 30 and report["not_sent"] == {}
    assert report["mails_per_s"] > 0 and report["us_per_event"]["campaigns"] > 0
    assert report["statements_per_event"] > 5  # its claim, its outcome, the readers' share
    assert any(s["database"] == "ecrm_campaigns" for s in report["statements"])
