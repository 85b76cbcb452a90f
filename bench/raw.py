"""The raw limits of this machine, measured in the same run: broker, gateway, database.

These are the ceilings our own figures are compared with: what aiokafka alone moves through the
broker, what Caddy alone forwards to a trivial endpoint, what asyncpg alone inserts.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.payloads import track_event
from ecrm.syspkg import ensure_program
from shared.http_server import UVICORN_HTTP
from shared.kafka_admin import ensure_topics

TRIVIAL_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
"""


async def broker_events_per_s(bootstrap: str, count: int) -> float:
    """Produce `count` tracking payloads and consume them all; events per second end to end."""
    topic = f"bench.raw.{int(time.time() * 1000)}"
    await ensure_topics(bootstrap, [topic], 8)
    rng = random.Random(7)
    payloads = [orjson.dumps(track_event(f"anon-{i % 5000}", rng)) for i in range(count)]
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}.g",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=5000,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await consumer.start()
    await producer.start()
    try:
        await _until_assigned(consumer)
        started = time.perf_counter()
        consumed = asyncio.create_task(_consume(consumer, count))
        futures = [
            await producer.send(topic, p, key=str(i % 5000).encode())
            for i, p in enumerate(payloads)
        ]
        await asyncio.gather(*futures)
        await consumed
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()


async def _until_assigned(consumer: AIOKafkaConsumer) -> None:
    for _ in range(300):
        if consumer.assignment():
            return
        await consumer.getmany(timeout_ms=100)
    raise RuntimeError("the raw-broker consumer was never assigned partitions")


async def _consume(consumer: AIOKafkaConsumer, count: int) -> None:
    seen = 0
    while seen < count:
        batch = await consumer.getmany(timeout_ms=500, max_records=5000)
        seen += sum(len(records) for records in batch.values())


async def db_inserts_per_s(server_dsn: str, rows: int, batch: int = 100, workers: int = 8) -> float:
    """Rows per second inserted by asyncpg, in batches of `batch`, from `workers` connections."""
    conn = await asyncpg.connect(server_dsn)
    table = f"bench_raw_{int(time.time() * 1000)}"
    await conn.execute(
        f"CREATE TABLE {table} (id uuid PRIMARY KEY, anonymous_id text, body jsonb,"
        " received_at timestamptz DEFAULT now())"
    )
    await conn.close()
    rng = random.Random(3)
    bodies = [orjson.dumps(track_event(f"anon-{i}", rng)).decode() for i in range(batch)]
    per_worker = rows // workers // batch
    pool = await asyncpg.create_pool(server_dsn, min_size=workers, max_size=workers)

    async def worker() -> None:
        import uuid

        async with pool.acquire() as c:
            for _ in range(per_worker):
                async with c.transaction():
                    await c.executemany(
                        f"INSERT INTO {table} (id, anonymous_id, body) VALUES ($1, $2, $3::jsonb)",
                        [(uuid.uuid4(), f"anon-{i}", b) for i, b in enumerate(bodies)],
                    )

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.perf_counter() - started
    async with pool.acquire() as c:
        await c.execute(f"DROP TABLE {table}")
    await pool.close()
    return per_worker * workers * batch / elapsed


def gateway_req_per_s(seconds: int, connections: int = 32) -> dict[str, float]:
    """Caddy in front of a trivial ASGI endpoint, loaded by wrk: the gateway's own ceiling."""
    from ecrm.embedded.gateway import caddy_path, go_threads
    from ecrm.ports import free_port

    work = Path(tempfile.mkdtemp(prefix="ecrm-bench-gw-"))
    (work / "trivial.py").write_text(TRIVIAL_APP)
    app_port, gw_port = free_port(), free_port()
    (work / "Caddyfile").write_text(
        "{\n\tadmin off\n\tauto_https off\n}\n"
        f"http://127.0.0.1:{gw_port} {{\n\treverse_proxy 127.0.0.1:{app_port}\n}}\n"
    )
    app = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "trivial:app",
            "--port",
            str(app_port),
            "--http",
            UVICORN_HTTP,
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=work,
    )
    gw = subprocess.Popen(
        [str(caddy_path()), "run", "--config", str(work / "Caddyfile"), "--adapter", "caddyfile"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"HOME": str(work), "XDG_DATA_HOME": str(work), "GOMAXPROCS": go_threads()},
    )
    try:
        _wait_http(f"http://127.0.0.1:{gw_port}/")
        result = wrk(f"http://127.0.0.1:{gw_port}/", seconds, connections)
        return {"req_per_s": result["req_per_s"], "p99_ms": result["p99_ms"]}
    finally:
        for proc in (gw, app):
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def _wait_http(url: str, timeout: float = 20) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


def wrk(
    url: str, seconds: int, connections: int, script: Path | None = None, threads: int = 2
) -> dict[str, float]:
    """Run wrk and read its summary (requests/s, latency percentiles, errors)."""
    binary = ensure_program(("wrk",), "wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed and cannot be (apt-get install wrk, as root)")
    argv = [
        binary,
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--latency",
        url,
    ]
    if script:
        argv[1:1] = ["-s", str(script)]
    out = subprocess.run(
        argv, capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, float]:
    figures: dict[str, float] = {"errors": 0.0, "non_2xx": 0.0}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            figures["req_per_s"] = float(parts[1])
        elif parts[:1] in (["50%"], ["99%"]):
            figures[f"p{parts[0][:-1]}_ms"] = _ms(parts[1])
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            figures["non_2xx"] = float(parts[-1])
        elif line.strip().startswith("Socket errors:"):
            figures["errors"] = float(sum(int(p.strip(",")) for p in parts[3::2]))
    return figures


def _ms(value: str) -> float:
    for suffix, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)):
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)
