"""The tracking load's HTTP client: keep-alive HTTP/1.1 connections, each request built once
before the load starts, answers parsed by httptools.

The load generator shares the two cores with the stack it measures, so what it spends is taken
from the stack, and its own delays land in the acknowledgement latency it reports. aiohttp spent
580-600 µs of CPU on each 33 KB request; this client 256-262, 53-70 of it in the kernel
(bench/RESULTS.md, "The harness's own load", run 69).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

import httptools


class Answer(NamedTuple):
    status: int
    body: bytes


# What a failed request is counted as: the connection refused, reset or closed, no answer in
# time, or an answer that is not HTTP.
FAILURES = (OSError, TimeoutError, httptools.HttpParserError)


def post_request(url: str, path: str, headers: Mapping[str, str], body: bytes) -> bytes:
    """A whole HTTP/1.1 POST of `body` to `path` on `url`'s host, ready to write."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {urlsplit(url).netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self, on_closed: Callable[[_Connection], None]) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._on_closed = on_closed
        self._waiter: asyncio.Future[tuple[Answer, bool]] | None = None
        self._body: list[bytes] = []
        self._parser = httptools.HttpResponseParser(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.fail(exc)

    def on_body(self, chunk: bytes) -> None:  # httptools' callback
        self._body.append(chunk)

    def on_message_complete(self) -> None:  # httptools' callback
        answer = Answer(self._parser.get_status_code(), b"".join(self._body))
        self._body = []
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((answer, self._parser.should_keep_alive()))

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(exc or ConnectionResetError("the server closed the connection"))

    def fail(self, exc: BaseException) -> None:
        """The request in flight fails with `exc`; the connection is closed, never reused."""
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        if not self.closed:
            self.closed = True
            self._on_closed(self)
            if self.transport is not None:
                self.transport.close()

    def send(self, request: bytes) -> asyncio.Future[tuple[Answer, bool]]:
        assert self.transport is not None and self._waiter is None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self._waiter


class LoadClient:
    """Requests to one host over at most `limit` connections, opened as needed and kept open
    while the server keeps them alive. A request that waits for a free connection waits in
    line; its latency, taken by the caller from its scheduled time, includes that wait."""

    def __init__(self, url: str, limit: int = 256, timeout_s: float = 30.0) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._limit, self._timeout_s = limit, timeout_s
        self._open: set[_Connection] = set()
        self._idle: list[_Connection] = []
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def send(self, request: bytes) -> Answer:
        """The answer to `request` (bytes from `post_request`); raises one of `FAILURES`."""
        connection = await self._take()
        timer = asyncio.get_running_loop().call_later(
            self._timeout_s, connection.fail, TimeoutError(f"no answer in {self._timeout_s} s")
        )
        keep = False
        try:
            answer, keep = await connection.send(request)
        finally:
            timer.cancel()
            self._give_back(connection, keep)
        return answer

    def close(self) -> None:
        for connection in list(self._open):
            connection.fail(ConnectionAbortedError("the client closed"))

    @property
    def connections(self) -> int:
        return len(self._open)

    async def _take(self) -> _Connection:
        while True:
            while self._idle:
                connection = self._idle.pop()
                if not connection.closed:
                    return connection
            if len(self._open) < self._limit:
                return await self._connect()
            turn = asyncio.get_running_loop().create_future()
            self._waiting.append(turn)
            await turn

    async def _connect(self) -> _Connection:
        connection = _Connection(self._closed)
        self._open.add(connection)  # counted while it connects, so the limit holds
        try:
            await asyncio.get_running_loop().create_connection(
                lambda: connection, self._host, self._port
            )
        except BaseException:
            self._closed(connection)
            raise
        return connection

    def _give_back(self, connection: _Connection, keep: bool) -> None:
        if keep and not connection.closed:
            self._idle.append(connection)
            self._wake_one()
        else:
            connection.fail(ConnectionAbortedError("not kept alive"))

    def _closed(self, connection: _Connection) -> None:
        self._open.discard(connection)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
