"""A real HTTP server on loopback answering `POST /v1/batch` with a test's handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def serve_batches(handler: Handler) -> tuple[web.AppRunner, str]:
    """The running server (clean it up with `runner.cleanup()`) and its base URL."""
    app = web.Application()
    app.router.add_post("/v1/batch", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
