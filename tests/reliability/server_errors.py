"""Requests a service failed on its own (answered 500): the chaos client retries them, so they
break no invariant, but each is an error no fault should cause. Read from the services' logs
before a passing run deletes them."""

from __future__ import annotations

import collections
import json
from pathlib import Path


def unhandled(logs: Path) -> dict[str, dict[str, int]]:
    """Per service, its `http.unhandled` entries and uvicorn's "Exception in ASGI application"
    tracebacks, counted by the exception they ended with. Starlette raises each exception its
    500 handler answered again for the server to log, so a traceback of the exception an entry
    just logged is that entry's request, counted once."""
    found: dict[str, dict[str, int]] = {}
    for log in sorted(logs.glob("*.log")):
        counts = _in(log.read_text(errors="replace").splitlines())
        if counts:
            found[log.stem] = dict(counts)
    return found


_NEXT_RECORD = ("INFO:", "ERROR:", "WARNING:", "DEBUG:", "CRITICAL:", "{", "--- ")


def _in(lines: list[str]) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    logged: collections.Counter[str] = collections.Counter()  # by their exception's last line
    for at, line in enumerate(lines):
        if '"http.unhandled"' in line:
            path, raised = _exception_of(line)
            counts[f"{path}: {raised}"] += 1
            logged[raised] += 1
        elif "Exception in ASGI application" in line:
            raised = _raised(lines[at + 1 :])
            if logged[
                raised
            ]:  # Starlette raises again what its 500 handler logged: the same request
                logged[raised] -= 1
            else:
                counts[raised] += 1
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


def _exception_of(line: str) -> tuple[str, str]:
    """The path of an `http.unhandled` entry and the last line of its exception."""
    try:
        entry = json.loads(line)
    except ValueError:
        return "?", "http.unhandled"
    trace = str(entry.get("exception", "")).strip().splitlines()
    return entry.get("path", "?"), trace[-1] if trace else "http.unhandled"
