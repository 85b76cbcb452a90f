"""Faults injected into real processes: freeze (SIGSTOP) a process tree, thaw it again."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import psutil


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    # PostgreSQL backends call setsid(): they are children, not members of the postmaster's group.
    return [root, *root.children(recursive=True)]


def signal_tree(pid: int, sig: signal.Signals) -> None:
    for proc in _tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(sig)


@contextlib.contextmanager
def frozen(pid: int) -> Iterator[None]:
    signal_tree(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        signal_tree(pid, signal.SIGCONT)
