"""Requests a service failed on its own (answered 500): the chaos client retries them, so they
break no invariant, but each is an error no fault should cause. Read from the services' logs
before a passing run deletes them."""

from __future__ import annotations

import collections
import json
from pathlib import Path


def unhandled(logs: Path) -> dict[str, dict[str, int]]:
    """Per service, its `http.unhandled` entries and uvicorn's "Exception in ASGI application"
    tracebacks, counted by the exception they ended with."""
    found: dict[str, dict[str, int]] = {}
    for log in sorted(logs.glob("*.log")):
        counts = _in(log.read_text(errors="replace").splitlines())
        if counts:
            found[log.stem] = dict(counts)
    return found


_NEXT_RECORD = ("INFO:", "ERROR:", "WARNING:", "DEBUG:", "CRITICAL:", "{", "--- ")


def _in(lines: list[str]) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for at, line in enumerate(lines):
        if '"http.unhandled"' in line:
            counts[_exception_of(line)] += 1
        elif "Exception in ASGI application" in line:
            counts[_raised(lines[at + 1 :])] += 1
    return counts


def _raised(after: list[str]) -> str:
    """The exception a traceback printed after a log line ended with (its last unindented
    line: the last of a chain)."""
    raised = "uvicorn: Exception in ASGI application"
    for line in after:
        if line.startswith(_NEXT_RECORD):
            break
        if line and not line.startswith((" ", "Traceback", "During handling", "The above")):
            raised = line.strip()
    return raised


def _exception_of(line: str) -> str:
    try:
        entry = json.loads(line)
    except ValueError:
        return "http.unhandled"
    trace = str(entry.get("exception", "")).strip().splitlines()
    return f"{entry.get('path', '?')}: {trace[-1] if trace else 'http.unhandled'}"
