"""The services' HTTP protocol hands a response to the socket in one write, and still speaks
HTTP/1.1 as uvicorn does: keep-alive, a streamed body larger than what it holds, an error that
closes the connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from ecrm.ports import free_port
from shared.http_server import HOLD_LIMIT, HttpProtocol, JoinedWrites
from tests.support import servers

CHUNK = b"x" * 16_384
CHUNKS = 20  # 320 KiB, past HOLD_LIMIT


class Recorded:
    """The writes that reach the socket, passed on to it unchanged."""

    writes: list[bytes] = []

    def __init__(self, transport: Any) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        Recorded.writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class RecordedHttpProtocol(HttpProtocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(Recorded(transport))


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/small")
    async def small() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/big")
    async def big() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(CHUNKS):
                yield CHUNK

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    return app


@pytest.fixture
async def server_url() -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(
        _app(), host="127.0.0.1", port=port, http=RecordedHttpProtocol, log_level="warning"
    )
    server, task = await servers.start(config)
    Recorded.writes = []
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_each_response_goes_to_the_socket_in_one_write(server_url):
    async with httpx.AsyncClient(base_url=server_url) as client:
        for _ in range(20):
            response = await client.get("/small")
            assert response.status_code == 200 and response.json() == {"hello": "world"}

    assert len(Recorded.writes) == 20
    assert all(
        w.startswith(b"HTTP/1.1 200") and w.endswith(b'{"hello":"world"}') for w in Recorded.writes
    )


async def test_a_streamed_body_past_the_hold_limit_arrives_whole(server_url):
    async with httpx.AsyncClient(base_url=server_url) as client:
        response = await client.get("/big")
        again = await client.get("/small")  # the same connection, after the stream

    assert response.content == CHUNK * CHUNKS
    assert again.json() == {"hello": "world"}
    assert max(len(w) for w in Recorded.writes) < HOLD_LIMIT + len(CHUNK) + 64


async def test_a_malformed_request_is_answered_before_the_connection_closes(server_url):
    host, port = server_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /small HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 5)  # until the server closes
    writer.close()

    assert answer.startswith(b"HTTP/1.1 400")


class Transport:
    """What JoinedWrites needs of a transport, recording what it is given."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0


async def test_writes_of_one_turn_are_held_until_it_ends():
    transport = Transport()
    joined = JoinedWrites(transport)  # type: ignore[arg-type]
    joined.write(b"head ")
    joined.write(b"body")
    assert transport.writes == [] and joined.get_write_buffer_size() == 9

    await asyncio.sleep(0)

    assert transport.writes == [b"head body"]


async def test_close_writes_what_is_held_first():
    transport = Transport()
    joined = JoinedWrites(transport)  # type: ignore[arg-type]
    joined.write(b"bye")
    joined.close()
    await asyncio.sleep(0)

    assert transport.writes == [b"bye"] and transport.closed


async def test_what_is_held_is_dropped_when_the_connection_went_away():
    transport = Transport()
    joined = JoinedWrites(transport)  # type: ignore[arg-type]
    joined.write(b"late")
    transport.closed = True  # the peer left before the turn ended
    await asyncio.sleep(0)

    assert transport.writes == []
