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
    logged: collections.Counter[str] = collections.Counter()  # by the exception they ended with
    for at, line in enumerate(lines):
        if '"http.unhandled"' in line:
            path, raised = _exception_of(line)
            counts[f"{path}: {raised}"] += 1
            logged[raised] += 1
        elif "Exception in ASGI application" in line:
            raised = _raised(lines[at + 1 :])
            if logged[raised]:  # what Starlette's 500 handler logged, raised again: one request
                logged[raised] -= 1
            else:
                counts[raised] += 1
    return counts


_CHAINED = ("During handling", "The above")


def _raised(after: list[str]) -> str:
    """The exception a traceback printed after a log line ended with: the first line of the
    last exception of its chain. The traceback ends at the first line after an exception that
    does not chain another on: a library's log line with a traceback of its own may follow
    without a prefix (asyncpg's "Failed to restore the pool connection floor")."""
    raised = "uvicorn: Exception in ASGI application"
    ended = False  # an exception was printed: only a chained one continues the traceback
    for line in after:
        if line.startswith(_NEXT_RECORD):
            break
        if not line.strip():
            continue
        if line.startswith(_CHAINED):
            ended = False
        elif ended:
            break
        elif not line.startswith((" ", "Traceback")):
            raised, ended = line.strip(), True
    return raised


def _exception_of(line: str) -> tuple[str, str]:
    """The path of an `http.unhandled` entry and the exception it ended with."""
    try:
        entry = json.loads(line)
    except ValueError:
        return "?", "http.unhandled"
    trace = str(entry.get("exception", "")).strip().splitlines()
    return entry.get("path", "?"), _raised(trace) if trace else "http.unhandled"
