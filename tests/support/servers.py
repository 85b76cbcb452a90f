"""uvicorn serving an app inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn


class QuietServer(uvicorn.Server):
    """uvicorn in the test's event loop, leaving the process' signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def start(config: uvicorn.Config) -> tuple[QuietServer, asyncio.Task[None]]:
    """The server, once it listens, and the task serving it (set `should_exit`, then await it)."""
    server = QuietServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task
