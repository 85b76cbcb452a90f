"""An asyncio process supervisor: start, wait until ready, restart on crash, stop in order.

Each child runs in its own session (so a terminal's Ctrl-C reaches only the supervisor, which
then stops the children in reverse order) and, on Linux, gets its stop signal if the supervisor
dies. Output goes to `<log_dir>/<name>.log`, the pid to `<run_dir>/<name>.pid`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import pwd
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import structlog

ReadyCheck = Callable[[], Awaitable[bool]]
Hook = Callable[[], Awaitable[object]]

_PR_SET_PDEATHSIG = 1
_POLL_S = 0.05


class StartupError(RuntimeError):
    """A child did not become ready (exited first, or timed out)."""


@dataclass
class ProcessSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    ready: ReadyCheck | None = None  # truthy once ready; an exception counts as "not yet"
    on_ready: Hook | None = None  # runs after every (re)start once ready
    log_path: Path | None = None
    cwd: Path | None = None
    user: str | None = None  # run as this OS user (the supervisor must be root)
    stop_signal: signal.Signals = signal.SIGTERM
    ready_timeout: float = 30.0
    stop_timeout: float = 10.0


@dataclass(frozen=True)
class Backoff:
    """Restart delays: `initial` doubling up to `maximum`; back to `initial` after a long run."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    reset_after: float = 60.0

    def next_delay(self, previous: float | None, uptime: float) -> float:
        if previous is None or uptime >= self.reset_after:
            return self.initial
        return min(previous * self.factor, self.maximum)


@dataclass(frozen=True)
class Crash:
    exit_code: int
    uptime: float
    restart_in: float


@dataclass
class Child:
    spec: ProcessSpec
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    delay: float | None = None
    crashes: list[Crash] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)  # monotonic time of every spawn
    ready_s: float | None = None  # seconds from the last spawn to ready
    monitor: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None


def _log() -> structlog.stdlib.BoundLogger:
    return structlog.get_logger("ecrm.embedded.supervisor")


def death_signal(sig: signal.Signals) -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to send `sig` to the child when its parent dies."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig))

    return arm


def _primary_group(user: str | None) -> int | None:
    return pwd.getpwnam(user).pw_gid if user else None


def log_tail(path: Path | None, limit: int = 2000) -> str:
    if path is None or not path.exists():
        return ""
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - limit))
        return fh.read().decode("utf-8", "replace")


def recorded_pids(run_dir: Path) -> dict[str, int]:
    """The live pid of every child, from `<run_dir>/<name>.pid` (a child crashing meanwhile
    removes its file between the listing and the read: it is left out)."""
    found = {}
    for path in run_dir.glob("*.pid"):
        with contextlib.suppress(FileNotFoundError, ValueError):
            found[path.stem] = int(path.read_text())
    return found


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal a child's whole process group (its session), ignoring one that is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _describe(code: int) -> str:
    return signal.Signals(-code).name if code < 0 else f"exit {code}"


class Supervisor:
    def __init__(
        self, run_dir: Path, log_dir: Path | None = None, backoff: Backoff | None = None
    ) -> None:
        self.run_dir = run_dir
        self.log_dir = log_dir or run_dir.parent / "logs"
        self.backoff = backoff or Backoff()
        self.children: dict[str, Child] = {}
        self._batches: list[list[Child]] = []
        self._stopping = False

    def pids(self) -> dict[str, int]:
        return {name: c.pid for name, c in self.children.items() if c.running and c.pid}

    async def start(self, spec: ProcessSpec) -> Child:
        """Spawn a child and wait until it is ready; from then on it is restarted on crash."""
        return (await self.start_many([spec]))[0]

    async def start_many(self, specs: Sequence[ProcessSpec]) -> list[Child]:
        """Start children side by side (they are stopped side by side too); raise the first
        failure after cancelling the others' waits. A failed child stays registered, so `stop`
        still ends it."""
        children = [self._register(spec) for spec in specs]
        self._batches.append(children)
        tasks = [asyncio.create_task(self._launch(child)) for child in children]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return children

    async def stop(self) -> None:
        """Stop every child: the last started batch first, each batch's children together."""
        self._stopping = True
        monitors = [c.monitor for c in self.children.values() if c.monitor]
        for task in monitors:
            task.cancel()
        await asyncio.gather(*monitors, return_exceptions=True)
        for batch in reversed(self._batches):
            await asyncio.gather(*(self._terminate(child) for child in batch))

    async def remove(self, name: str) -> None:
        """Stop one child for good (no restart) and forget it."""
        child = self.children.pop(name)
        if child.monitor:
            child.monitor.cancel()
            await asyncio.gather(child.monitor, return_exceptions=True)
        await self._terminate(child)
        for batch in self._batches:
            if child in batch:
                batch.remove(child)

    def _register(self, spec: ProcessSpec) -> Child:
        if spec.name in self.children:
            raise ValueError(f"a child named {spec.name!r} is already supervised")
        child = self.children[spec.name] = Child(spec)
        return child

    async def _launch(self, child: Child) -> None:
        await self._spawn(child)
        await self._until_ready(child)
        child.monitor = asyncio.create_task(self._watch(child), name=f"watch-{child.spec.name}")

    def _log_path(self, spec: ProcessSpec) -> Path:
        return spec.log_path or self.log_dir / f"{spec.name}.log"

    async def _spawn(self, child: Child) -> None:
        spec = child.spec
        log_path = self._log_path(spec)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as out:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            out.write(f"--- {stamp} starting {spec.name}: {' '.join(spec.argv)}\n".encode())
            out.flush()
            child.process = await asyncio.create_subprocess_exec(
                *spec.argv,
                env=dict(spec.env) if spec.env is not None else None,
                cwd=spec.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                user=spec.user,
                group=_primary_group(spec.user),
                extra_groups=[] if spec.user else None,
                preexec_fn=death_signal(spec.stop_signal),
            )
        child.started_at = time.monotonic()
        child.starts.append(child.started_at)
        self._write_pid(spec.name, child.process.pid)
        _log().info("process.started", name=spec.name, pid=child.process.pid)

    async def _until_ready(self, child: Child) -> None:
        spec, process = child.spec, child.process
        assert process is not None
        deadline = time.monotonic() + spec.ready_timeout
        while True:
            if process.returncode is not None:
                self._fail(spec, f"stopped ({_describe(process.returncode)}) before it was ready")
            if await self._probe(spec, deadline):
                break
            if time.monotonic() >= deadline:
                self._fail(spec, f"was not ready after {spec.ready_timeout:.0f}s")
            await asyncio.sleep(_POLL_S)
        if spec.on_ready is not None:
            await spec.on_ready()
        child.ready_s = round(time.monotonic() - child.started_at, 3)
        _log().info("process.ready", name=spec.name, pid=process.pid, seconds=child.ready_s)

    def _fail(self, spec: ProcessSpec, what: str) -> NoReturn:
        path = self._log_path(spec)
        raise StartupError(f"{spec.name} {what}; end of {path}:\n{log_tail(path)}")

    @staticmethod
    async def _probe(spec: ProcessSpec, deadline: float) -> bool:
        if spec.ready is None:
            return True
        budget = max(0.1, min(5.0, deadline - time.monotonic()))
        try:
            async with asyncio.timeout(budget):  # unlike wait_for, never swallows a cancel
                return bool(await spec.ready())
        except Exception:
            return False

    async def _watch(self, child: Child) -> None:
        while True:
            assert child.process is not None
            code = await child.process.wait()
            if self._stopping:
                return
            signal_group(child.process.pid, signal.SIGKILL)  # leftovers of the crashed child
            self._record_crash(child, code)
            await asyncio.sleep(child.delay or 0)
            try:
                await self._spawn(child)
                await self._until_ready(child)
            except Exception as exc:  # counts as one more crash: the loop backs off and retries
                _log().error("process.not_ready", name=child.spec.name, error=str(exc)[:500])
                signal_group(child.process.pid, signal.SIGKILL)
            else:
                _log().info("process.restarted", name=child.spec.name, pid=child.pid)

    def _record_crash(self, child: Child, code: int) -> None:
        uptime = time.monotonic() - child.started_at
        child.delay = self.backoff.next_delay(child.delay, uptime)
        child.crashes.append(Crash(code, uptime, child.delay))
        self._remove_pid(child.spec.name)
        _log().warning(
            "process.crashed",
            name=child.spec.name,
            exit_code=code,
            reason=_describe(code),
            uptime_s=round(uptime, 2),
            restart_in_s=child.delay,
        )

    async def _terminate(self, child: Child) -> None:
        process = child.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(child.spec.stop_signal)
                process.send_signal(signal.SIGCONT)  # a paused child must see the stop signal
            try:
                async with asyncio.timeout(child.spec.stop_timeout):
                    await process.wait()
            except TimeoutError:
                _log().warning("process.kill", name=child.spec.name, pid=process.pid)
                signal_group(process.pid, signal.SIGKILL)
                await process.wait()
        if process is not None:
            signal_group(process.pid, signal.SIGKILL)
            _log().info("process.stopped", name=child.spec.name, exit_code=process.returncode)
        self._remove_pid(child.spec.name)

    def _write_pid(self, name: str, pid: int) -> None:
        tmp = self.run_dir / f".{name}.pid.tmp"
        tmp.write_text(f"{pid}\n")
        tmp.replace(self.run_dir / f"{name}.pid")

    def _remove_pid(self, name: str) -> None:
        (self.run_dir / f"{name}.pid").unlink(missing_ok=True)
