"""The process supervisor with real tiny child processes: restart, backoff, readiness, stop."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from structlog.testing import capture_logs

from ecrm.embedded.supervisor import Backoff, ProcessSpec, StartupError, Supervisor


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def until(check: Callable[[], bool]) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met within 10s")


@pytest.fixture
def supervisor(tmp_path: Path) -> Supervisor:
    return Supervisor(tmp_path / "run", tmp_path / "logs", Backoff(0.2, 2.0, 0.8, 60.0))


def test_backoff_doubles_up_to_the_cap_and_resets_after_a_long_run() -> None:
    backoff = Backoff()
    delays: list[float] = []
    delay = None
    for _ in range(9):
        delay = backoff.next_delay(delay, uptime=1.0)
        delays.append(delay)
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert backoff.next_delay(30.0, uptime=60.0) == 0.5
    assert backoff.next_delay(30.0, uptime=59.0) == 30.0


async def test_a_crashing_child_is_restarted_with_growing_delays(supervisor: Supervisor) -> None:
    spec = ProcessSpec("crasher", python("import sys, time; time.sleep(0.1); sys.exit(3)"))
    with capture_logs() as logs:
        child = await supervisor.start(spec)
        await until(lambda: len(child.crashes) >= 4)
        await supervisor.stop()
    assert [c.exit_code for c in child.crashes[:4]] == [3, 3, 3, 3]
    assert [c.restart_in for c in child.crashes[:4]] == [0.2, 0.4, 0.8, 0.8]
    gaps = [b - a for a, b in zip(child.starts, child.starts[1:], strict=False)]
    for gap, crash in zip(gaps, child.crashes, strict=False):
        assert gap >= crash.uptime + crash.restart_in - 0.05
    crashed = [e for e in logs if e["event"] == "process.crashed"]
    assert crashed[0]["exit_code"] == 3 and crashed[0]["name"] == "crasher"
    assert crashed[0]["restart_in_s"] == 0.2


async def test_the_delay_resets_when_the_child_stayed_up(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "run", tmp_path / "logs", Backoff(0.1, 2.0, 5.0, 0.3))
    spec = ProcessSpec("steady", python("import sys, time; time.sleep(0.4); sys.exit(5)"))
    child = await sup.start(spec)
    await until(lambda: len(child.crashes) >= 3)
    await sup.stop()
    assert [c.restart_in for c in child.crashes[:3]] == [0.1, 0.1, 0.1]
    assert all(c.exit_code == 5 and c.uptime >= 0.3 for c in child.crashes[:3])


async def test_a_killed_child_is_restarted_and_its_on_ready_hook_runs_again(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    hooks: list[int] = []

    async def on_ready() -> None:
        hooks.append(1)

    spec = ProcessSpec("sleeper", python("import time; time.sleep(60)"), on_ready=on_ready)
    child = await supervisor.start(spec)
    first = child.pid
    assert first is not None and hooks == [1]
    os.kill(first, signal.SIGKILL)
    await until(lambda: len(hooks) == 2)
    assert child.pid != first and child.running
    assert child.crashes[0].exit_code == -signal.SIGKILL
    assert (tmp_path / "run" / "sleeper.pid").read_text().strip() == str(child.pid)
    await supervisor.stop()


async def test_output_goes_to_the_log_and_the_pid_to_a_file(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    code = "import sys, time; print('to stdout', flush=True); print('to stderr', file=sys.stderr)"
    log = tmp_path / "logs" / "talker.log"

    async def logged() -> bool:
        return log.exists() and "to stderr" in log.read_text()

    child = await supervisor.start(
        ProcessSpec("talker", python(code + "; time.sleep(60)"), ready=logged)
    )
    assert supervisor.pids() == {"talker": child.pid}
    assert (tmp_path / "run" / "talker.pid").read_text().strip() == str(child.pid)
    text = log.read_text()
    assert "starting talker" in text and "to stdout" in text and "to stderr" in text
    await supervisor.stop()
    assert not (tmp_path / "run" / "talker.pid").exists()


async def test_a_child_that_exits_before_it_is_ready_fails_the_start(
    supervisor: Supervisor,
) -> None:
    code = "import sys; print('boom: cannot bind', file=sys.stderr); sys.exit(2)"

    async def never() -> bool:
        return False

    with pytest.raises(StartupError, match="exit 2") as failure:
        await supervisor.start(ProcessSpec("broken", python(code), ready=never))
    assert "boom: cannot bind" in str(failure.value)
    await supervisor.stop()


async def test_a_child_that_never_gets_ready_times_out(supervisor: Supervisor) -> None:
    async def never() -> bool:
        return False

    spec = ProcessSpec(
        "slow", python("import time; time.sleep(60)"), ready=never, ready_timeout=0.5
    )
    with pytest.raises(StartupError, match="not ready after"):
        await supervisor.start(spec)
    pid = supervisor.children["slow"].pid
    await supervisor.stop()
    assert pid is not None and gone(pid)


async def test_stop_kills_a_child_that_ignores_sigterm(supervisor: Supervisor) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    spec = ProcessSpec("stubborn", python(code), stop_timeout=0.5)
    child = await supervisor.start(spec)
    await asyncio.sleep(0.3)  # let it install its handler
    started = time.monotonic()
    await supervisor.stop()
    assert time.monotonic() - started < 3
    assert child.process is not None and child.process.returncode == -signal.SIGKILL
    assert child.pid is not None and gone(child.pid)


async def test_a_paused_child_still_stops(supervisor: Supervisor) -> None:
    child = await supervisor.start(ProcessSpec("paused", python("import time; time.sleep(60)")))
    assert child.pid is not None
    os.kill(child.pid, signal.SIGSTOP)
    started = time.monotonic()
    await supervisor.stop()
    assert time.monotonic() - started < 3
    assert child.process is not None and child.process.returncode == -signal.SIGTERM


async def test_children_stop_in_reverse_order(supervisor: Supervisor) -> None:
    for name in ("first", "second", "third"):
        await supervisor.start(ProcessSpec(name, python("import time; time.sleep(60)")))
    with capture_logs() as logs:
        await supervisor.stop()
    stopped = [e["name"] for e in logs if e["event"] == "process.stopped"]
    assert stopped == ["third", "second", "first"]
    assert supervisor.pids() == {}


async def test_a_batch_starts_together_and_stops_together(supervisor: Supervisor) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    specs = [ProcessSpec(name, python(code), stop_timeout=1.0) for name in ("a", "b", "c")]
    children = await supervisor.start_many(specs)
    assert set(supervisor.pids()) == {"a", "b", "c"}
    await asyncio.sleep(0.3)  # let them install their handlers
    started = time.monotonic()
    await supervisor.stop()
    assert time.monotonic() - started < 1.8  # one stop timeout, not three in a row
    assert all(c.process and c.process.returncode == -signal.SIGKILL for c in children)


async def test_a_failing_member_fails_the_batch_and_stop_ends_the_rest(
    supervisor: Supervisor,
) -> None:
    async def never() -> bool:
        return False

    specs = [
        ProcessSpec("waits", python("import time; time.sleep(60)"), ready=never),
        ProcessSpec("dies", python("import sys; sys.exit(4)"), ready=never),
    ]
    with pytest.raises(StartupError, match="dies stopped \\(exit 4\\)"):
        await supervisor.start_many(specs)
    waiting = supervisor.children["waits"]
    assert waiting.running
    await supervisor.stop()
    assert waiting.pid is not None and gone(waiting.pid)
