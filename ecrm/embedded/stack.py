"""`ecrm up`: the whole stack as supervised local processes, in dependency order.

postgres -> broker (+ topics) -> SMTP sink -> services -> portal -> Caddy. Each embedded part is
skipped when its `ECRM_*` URL points at an existing server. Ctrl-C / SIGTERM (or the `stop`
event) stops everything in reverse order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import structlog

from ecrm.embedded import PORTAL_SERVICES_ENV, PROJECT_ROOT, broker, gateway, postgres, smtp_sink
from ecrm.embedded.supervisor import (
    ProcessSpec,
    StartupError,
    Supervisor,
    death_signal,
    log_tail,
    recorded_pids,
    signal_group,
)
from ecrm.topology import PORTAL, available_services, service_port, service_url
from shared.auth import issue_token, new_write_key
from shared.http_server import UVICORN_HTTP
from shared.settings import Settings, read_or_create_secret

T = TypeVar("T")
READY_FILE = "stack.json"  # in ECRM_HOME/run while the stack is up


@dataclass
class StackInfo:
    gateway_url: str
    home: str
    services: list[str]
    startup_s: float = 0.0
    parts_s: dict[str, float] = field(default_factory=dict)  # seconds each part took to start
    pids: dict[str, int] = field(default_factory=dict)
    pid: int = field(default_factory=os.getpid)


def _log() -> structlog.stdlib.BoundLogger:
    return structlog.get_logger("ecrm.embedded.stack")


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as `ECRM_*` variables, so a child process sees exactly the same ones."""
    env = {
        f"ECRM_{name.upper()}": str(value)
        for name, value in settings.model_dump().items()
        if value is not None
    }
    env["ECRM_HOME"] = str(settings.home.resolve())
    return env


def inherited_env(settings: Settings) -> dict[str, str]:
    """This process's environment for a child: the platform's `ECRM_*` variables exactly as
    `settings` has them (none left over from the shell), every other variable as it is."""
    platform = {f"ECRM_{name.upper()}" for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in platform}
    return env | settings_env(settings)


def child_env(settings: Settings, signing_key: str, write_key: str) -> dict[str, str]:
    """Environment of the services and the portal: the resolved addresses and secrets. A
    service's own `ECRM_*` variables (`ECRM_CAMPAIGNS_SEND_RATE`, `ECRM_SUPPORT_*`, ...) pass
    through; the platform's come from `settings` alone."""
    extra_keys = [k for k in (settings.write_keys or "").split(",") if k and k != write_key]
    env = inherited_env(settings)
    env.update(
        ECRM_DATABASE_URL=settings.server_dsn,
        ECRM_KAFKA_BOOTSTRAP=settings.kafka,
        ECRM_SMTP_URL=settings.smtp,
        ECRM_SIGNING_KEY=signing_key,
        ECRM_WRITE_KEYS=",".join([write_key, *extra_keys]),
        PYTHONUNBUFFERED="1",
    )
    return env


def uvicorn_spec(settings: Settings, name: str, app: str, env: dict[str, str]) -> ProcessSpec:
    port = service_port(settings, name)
    argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--http", UVICORN_HTTP, "--no-access-log", "--timeout-graceful-shutdown", "10"]
    workers = settings.workers_for(name)
    if workers > 1:  # uvicorn's own supervisor; the group is killed and restarted as one
        argv += ["--workers", str(workers)]
    healthz = f"{service_url(settings, name)}/healthz"
    return ProcessSpec(
        name=name,
        argv=argv,
        env=env,
        ready=lambda: gateway.answers_ok(healthz),
        log_path=settings.home / "logs" / f"{name}.log",
        cwd=PROJECT_ROOT,
        ready_timeout=120.0,
    )


def portal_spec(settings: Settings, services: list[str], env: dict[str, str]) -> ProcessSpec:
    portal_env = {**env, PORTAL_SERVICES_ENV: ",".join(services)}
    spec = uvicorn_spec(settings, PORTAL, "ecrm.portal:app", portal_env)
    healthz = f"{service_url(settings, PORTAL)}/healthz"
    spec.ready = lambda: gateway.answers(healthz)  # it answers 503 while a service is down
    return spec


def planned_ports(settings: Settings, services: list[str]) -> dict[str, int]:
    ports = {name: service_port(settings, name) for name in (*services, PORTAL)}
    ports["gateway"] = settings.gateway_port
    if not settings.database_url:
        ports["postgres"] = settings.embedded_pg_port
    if not settings.kafka_bootstrap:
        ports["broker"] = settings.embedded_kafka_port
    if not settings.smtp_url:
        ports["smtp-sink"] = settings.smtp_sink_port
    return ports


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def check_ports(ports: dict[str, int]) -> None:
    busy = [f"{port} ({name})" for name, port in ports.items() if not port_is_free(port)]
    if busy:
        raise StartupError(f"ports already in use: {', '.join(busy)}; is another stack running?")


async def _timed(info: StackInfo, name: str, step: Awaitable[T]) -> T:
    started = time.monotonic()
    result = await step
    info.parts_s[name] = round(time.monotonic() - started, 3)
    return result


async def _start_infrastructure(
    settings: Settings, sup: Supervisor, info: StackInfo, env: dict[str, str]
) -> None:
    if not settings.database_url:
        layout = await _timed(info, "postgres-init", asyncio.to_thread(postgres.prepare, settings))
        await sup.start(postgres.postgres_spec(settings, layout))
        env["ECRM_DATABASE_URL"] = postgres.socket_dsn(layout, settings.embedded_pg_port)
    if not settings.kafka_bootstrap:
        await sup.start(broker.broker_spec(settings))
    else:
        topics = broker.create_topics(settings.kafka, settings.topic_partitions)
        await _timed(info, "topics", topics)
    if not settings.smtp_url:
        await sup.start(smtp_sink.sink_spec(settings, env))


def ensure_admin_token(settings: Settings, signing_key: str) -> str:
    """The bearer token with every scope in ECRM_HOME/admin.token: created once, then kept."""
    make = partial(issue_token, signing_key, ["*"], "admin", settings.token_ttl_days)
    return read_or_create_secret(settings.home / "admin.token", make)


async def start_parts(settings: Settings, services: list[str], sup: Supervisor) -> StackInfo:
    """Start every part and wait until each is ready; return what was started."""
    started = time.monotonic()
    info = StackInfo(gateway.gateway_url(settings), str(settings.home), services)
    check_ports(planned_ports(settings, services))
    signing_key = settings.resolved_signing_key()
    write_key = read_or_create_secret(settings.home / "write.key", new_write_key)
    env = child_env(settings, signing_key, write_key)
    await _start_infrastructure(settings, sup, info, env)
    specs = [uvicorn_spec(settings, n, f"services.{n}.app:app", env) for n in services]
    if specs:
        await sup.start_many(specs)
    await sup.start(portal_spec(settings, services, env))
    await sup.start(gateway.gateway_spec(settings))
    ensure_admin_token(settings, signing_key)
    info.startup_s = round(time.monotonic() - started, 3)
    info.parts_s.update({name: c.ready_s or 0.0 for name, c in sup.children.items()})
    info.pids = sup.pids()
    return info


def print_ready(info: StackInfo) -> None:
    print(f"eCRM is ready at {info.gateway_url} (started in {info.startup_s:.1f}s)", flush=True)


@contextlib.contextmanager
def _stack_lock(home: Path) -> Iterator[None]:
    path = home / "run" / "stack.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StartupError(f"another stack is already running with ECRM_HOME={home}") from None
        yield


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _unless_stopped(step: Awaitable[StackInfo], stop: asyncio.Event) -> StackInfo | None:
    task = asyncio.ensure_future(step)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None
    return task.result()


def _clear_run_files(run_dir: Path) -> None:
    for stale in [*run_dir.glob("*.pid"), run_dir / READY_FILE]:
        stale.unlink(missing_ok=True)


def _write_ready_file(home: Path, info: StackInfo) -> None:
    tmp = home / "run" / f".{READY_FILE}.tmp"
    tmp.write_text(json.dumps(asdict(info), indent=2))
    tmp.replace(home / "run" / READY_FILE)


def _watches(settings: Settings, sup: Supervisor) -> list[Awaitable[None]]:
    """What watches a running stack: the embedded broker's memory."""
    if settings.kafka_bootstrap:
        return []
    return [broker.watch_memory(lambda: sup.pids().get("broker"), settings.broker_memory_warn_mb)]


async def _run_until(stop: asyncio.Event, watches: list[Awaitable[None]]) -> None:
    tasks = [asyncio.ensure_future(w) for w in watches]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_stack(
    settings: Settings,
    services: list[str] | None = None,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[StackInfo], None] = print_ready,
) -> None:
    """Run the stack until `stop` is set or SIGINT/SIGTERM arrives; raise StartupError if a part
    cannot start (everything already started is stopped first)."""
    stop = stop or asyncio.Event()
    settings = settings.model_copy(update={"home": settings.home.resolve()})
    names = available_services() if services is None else list(services)
    home = settings.home
    sup = Supervisor(home / "run", home / "logs")
    with _stack_lock(home), _stop_on_signals(stop):
        _clear_run_files(home / "run")  # left behind if a previous stack was killed
        try:
            info = await _unless_stopped(start_parts(settings, names, sup), stop)
            if info is not None:
                _write_ready_file(home, info)
                _log().info("stack.ready", **asdict(info))
                on_ready(info)
                await _run_until(stop, _watches(settings, sup))
        finally:
            (home / "run" / READY_FILE).unlink(missing_ok=True)
            await sup.stop()
            _log().info("stack.stopped", home=str(home))


class EmbeddedStack:
    """A stack in a subprocess (`python -m ecrm.embedded.stack`), for test fixtures and benches.

    `start()` returns once the gateway is ready; `stop()` (or leaving the `with` block) stops it
    and every child. If the test process dies, the stack gets SIGTERM and stops itself.
    """

    def __init__(
        self, settings: Settings, services: list[str] | None = None, timeout: float = 180.0
    ) -> None:
        self.settings = settings.model_copy(update={"home": settings.home.resolve()})
        self.services = services
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def gateway_url(self) -> str:
        return gateway.gateway_url(self.settings)

    @property
    def admin_token(self) -> str:
        return (self.home / "admin.token").read_text().strip()

    @property
    def write_key(self) -> str:
        return (self.home / "write.key").read_text().strip()

    def info(self) -> dict[str, object]:
        return json.loads((self.home / "run" / READY_FILE).read_text())

    def pids(self) -> dict[str, int]:
        """The live pid of every child (`supervisor.recorded_pids`)."""
        return recorded_pids(self.home / "run")

    def start(self) -> EmbeddedStack:
        argv = [sys.executable, "-m", "ecrm.embedded.stack"]
        if self.services is not None:
            argv += ["--services", ",".join(self.services)]
        env = inherited_env(self.settings)
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        with (self.home / "logs" / "stack.log").open("ab") as out:
            self.process = subprocess.Popen(
                argv, env=env, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_stop_with_parent(),
            )  # fmt: skip
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.timeout
        while not self._ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = log_tail(self.home / "logs" / "stack.log", 4000)
                raise StartupError(f"the embedded stack did not start; stack.log ends:\n{tail}")
            time.sleep(0.1)

    def _ready(self) -> bool:
        try:
            return self.process is not None and self.info().get("pid") == self.process.pid
        except (OSError, ValueError):
            return False

    def stop(self, timeout: float = 60.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        children = self.pids()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            for pid in [process.pid, *children.values()]:
                signal_group(pid, signal.SIGKILL)
            process.wait()

    def __enter__(self) -> EmbeddedStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _stop_with_parent() -> Callable[[], None] | None:
    """SIGTERM the stack if this process dies; only from the main thread, since Linux ties the
    signal to the thread that started the child."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return death_signal(signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run the embedded eCRM stack in the foreground")
    parser.add_argument("--services", help="comma-separated services (default: all available)")
    args = parser.parse_args(argv)
    services = None if args.services is None else [s for s in args.services.split(",") if s]
    try:
        asyncio.run(run_stack(Settings(), services))
    except StartupError as exc:
        print(f"ecrm: the stack could not start: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
