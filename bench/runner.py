"""`ecrm bench`: a fresh embedded stack, the raw limits, then our own figures; JSON printed last."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import uvloop

from bench import creates, e2e, goals, ingest, maintenance, raw
from bench.cpu import CpuMeter, MachineMeter, us_per_event
from bench.gateway_log import proxy_errors
from bench.memory import MemorySampler, rounded
from bench.record import record
from ecrm.embedded import gateway
from ecrm.embedded.stack import EmbeddedStack
from ecrm.ports import settings_on_free_ports
from ecrm.topology import ALL_SERVICES

# Events/s of the ingestion steps: every 1,250 from 5,000 (and 6,875) to 20,000, then 22,500 and
# 25,000. Steps go up until one is not even absorbed.
STEPS = [5000.0, 6250.0, 6875.0, *(7500.0 + 1250.0 * i for i in range(11)), 22500.0, 25000.0]
SETTLE_S = 5.0  # after start-up: consumers elected, first relay rounds and metadata done
# The latency phase at 70 % of the bounded rate: the probe sends a call every 0.1 s, so 30 s
# give ~300 samples, whose p99 is about the third slowest. Until run 82 it lasted 10 s, whose
# ~100 samples made the p99 the second slowest: one disk stall moved it by hundreds of ms.
LATENCY_S = 30.0


async def idle_cores(stack: EmbeddedStack, seconds: float) -> dict[str, float]:
    """What the stack takes of the machine with no traffic at all: its loops, polls and waiting
    broker fetches. The same cost runs under load, where it is a share of every event's."""
    await asyncio.sleep(SETTLE_S)
    meter = CpuMeter(stack.pids())
    meter.start()
    await asyncio.sleep(seconds)
    return meter.stop(seconds, digits=3)


async def find_max_rate(
    stack: EmbeddedStack, rates: list[float], seconds: float
) -> tuple[float, float, list[dict]]:
    """(highest rate with bounded lag, highest rate whose burst drained, every step's figures).
    Steps go up until one is not even absorbed."""
    dsn = stack.settings.database_dsn("interactions")
    bootstrap = stack.settings.kafka
    sustained, burst, steps = 0.0, 0.0, []
    for rate in rates:
        meter = CpuMeter(stack.pids())
        meter.start()
        result = await ingest.step(
            stack.gateway_url, stack.write_key, dsn, bootstrap, rate, seconds
        )
        # The load generator's share of the cores while the load ran: its bodies are made
        # before, and the backlog polls after it, when the stack is not under load.
        generator_cores = result.sending_cpu_s / result.elapsed_s
        span = result.elapsed_s + (result.drain_s or 0)
        cores = meter.stop(span)
        steps.append(
            {
                "target": rate,
                "achieved": round(result.achieved_events_per_s),
                "accepted": result.accepted_events,
                "ack_p50_ms": round(result.percentile(0.50), 1),
                "ack_p99_ms": round(result.percentile(0.99), 1),
                "errors": result.errors,
                "error_kinds": dict(result.error_kinds),
                "backlog_after": result.backlog_after,
                "lag_bounded": result.lag_bounded,
                "drain_s": None if result.drain_s is None else round(result.drain_s, 2),
                "cpu_cores": cores,
                "stack_us_per_event": round(
                    sum(us_per_event(cores, span, result.accepted_events).values())
                ),
                "load_generator_cores": round(generator_cores, 2),
            }
        )
        if not result.kept_up:
            break
        burst = rate
        if result.lag_bounded:
            sustained = rate
    return sustained, burst, steps


async def latency_at(stack: EmbeddedStack, rate: float, seconds: float) -> dict[str, Any]:
    """End-to-end latency (the probe's calls, accepted -> in the timeline) and the load's
    acknowledgement latency, while the tracking load runs at `rate`."""
    meter, machine = CpuMeter(stack.pids()), MachineMeter()
    meter.start()
    started = time.perf_counter()
    load = asyncio.create_task(
        ingest.open_loop(stack.gateway_url, stack.write_key, rate, seconds, seed=99)
    )
    latencies = sorted(
        await e2e.measure(stack.gateway_url, stack.write_key, stack.admin_token, seconds)
    )
    acks = await load
    span = time.perf_counter() - started
    cores = meter.stop(span)
    return {
        "e2e_rate_events_per_s": round(rate),
        "e2e_seconds": seconds,
        "e2e_samples": len(latencies),
        "e2e_p50_ms": _at(latencies, 0.5),
        "e2e_p99_ms": _at(latencies, 0.99),
        "e2e_max_ms": _at(latencies, 1.0),
        "ack_p99_ms_at_70pct": round(acks.percentile(0.99), 1),
        "ack_errors_at_70pct": acks.errors,
        # What the phase cost, on a stack the steps have grown: each component's cores, the
        # stack's CPU per event of the load (the probe's own calls and reads included), and
        # how busy the whole machine was (the harness and the kernel's threads too).
        "e2e_cpu_cores": cores,
        "e2e_stack_us_per_event": round(
            sum(us_per_event(cores, span, acks.accepted_events).values())
        ),
        "e2e_machine_busy": machine.busy_share(),
    }


def _at(ordered: list[float], share: float) -> float | None:
    """The value at `share` of an ordered sample (the nearest rank below it)."""
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


async def run(smoke: bool = False) -> dict[str, Any]:
    seconds = 2 if smoke else 10
    home = Path(tempfile.mkdtemp(prefix="ecrm-bench-"))
    started = time.perf_counter()
    with EmbeddedStack(settings_on_free_ports(home)) as stack:
        bootstrap = stack.settings.kafka
        report: dict[str, Any] = {"smoke": smoke}
        memory = MemorySampler(stack.pids(), interval_s=1.0 if smoke else 5.0)
        report["memory_mb_at_start"] = rounded(memory.sample())
        memory.start()
        idle = await idle_cores(stack, seconds)
        report["idle_cpu_cores"] = idle
        report["idle_cpu_cores_total"] = round(sum(idle.values()), 3)
        report["raw_broker_events_per_s"] = round(
            await raw.broker_events_per_s(bootstrap, 5000 if smoke else 200_000)
        )
        report["raw_db_inserts_per_s"] = round(
            await raw.db_inserts_per_s(stack.settings.server_dsn, 8000 if smoke else 200_000)
        )
        gw = raw.gateway_req_per_s(seconds)
        report["raw_gateway_req_per_s"] = round(gw["req_per_s"])
        rates = [1000.0] if smoke else STEPS
        best, burst, steps = await find_max_rate(stack, rates, seconds)
        report["ingest_events_per_s"] = round(best)  # lag bounded
        report["ingest_burst_events_per_s"] = round(burst)  # 10 s absorbed within 10 s
        report["ingest_steps"] = steps
        # every phase starts from an idle pipeline: the failed step's backlog drains first
        dsn = stack.settings.database_dsn("interactions")
        report["drain_after_steps_s"] = await ingest.wait_drained(dsn, bootstrap, 300)
        vacuum_s, cpu_s = await maintenance.vacuum_all(
            [stack.settings.database_dsn(s) for s in ALL_SERVICES], stack.pids()["postgres"]
        )
        report["vacuum_after_steps_s"] = round(vacuum_s, 1)
        accepted = sum(step["accepted"] for step in steps)
        report["vacuum_us_per_event"] = round(cpu_s * 1e6 / max(1, accepted))
        report.update(
            await latency_at(stack, max(best * 0.7, 500.0), seconds if smoke else LATENCY_S)
        )
        await ingest.wait_drained(dsn, bootstrap, 300)
        meter = CpuMeter(stack.pids())
        meter.start()
        c = creates.customer_creates(
            stack.gateway_url, stack.admin_token, seconds, 64, uuid.uuid4().hex[:8]
        )
        report["create_cpu_cores"] = meter.stop(seconds)
        report["api_creates_per_s"] = round(c["req_per_s"])
        report["api_p99_ms"] = c.get("p99_ms")
        report["api_errors"] = c["errors"] + c["non_2xx"]
        report["creates_vs_raw_gateway"] = round(c["req_per_s"] / max(1, gw["req_per_s"]), 3)
        report["ingest_vs_raw_broker"] = round(best / max(1, report["raw_broker_events_per_s"]), 3)
        report["memory_mb_at_end"] = rounded(await memory.stop())
        report["memory_peak_mb"] = rounded(memory.peak_mb)
        report["memory_peak_total_mb"] = round(memory.peak_total_mb)
        report["gateway_errors"] = proxy_errors(gateway.log_path(stack.settings))
    report["duration_s"] = round(time.perf_counter() - started, 1)
    shutil.rmtree(home, ignore_errors=True)
    return report


def main(smoke: bool = False, record_in: Path | None = None) -> dict[str, Any]:
    report = uvloop.run(run(smoke))  # the services' loop: the load generator spends less
    checked = goals.check(report)
    report["goals"] = goals.as_report(checked)
    report["goals_met"] = all(g.met for g in checked)
    print(goals.table(checked), file=sys.stderr, flush=True)
    print(json.dumps(report), flush=True)  # first: a record that fails must not lose the run
    if record_in is not None:
        record(report, record_in)
    return report
