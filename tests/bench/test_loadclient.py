"""The load generator's HTTP client against real servers on loopback: answers and their bodies,
keep-alive reuse, the connection limit, and every way a request can fail (a refused connection,
a server that closes, one that never answers, one that answers with something not HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httptools
import pytest
from aiohttp import web

from bench.loadclient import FAILURES, LoadClient, post_request
from tests.bench.batch_server import serve_batches


@pytest.fixture
async def echo() -> AsyncIterator[tuple[str, list[tuple[str, bytes, int]]]]:
    """A server answering each batch with its size; records what it got, and on which
    connection (the client's port)."""
    got: list[tuple[str, bytes, int]] = []

    async def handler(request: web.Request) -> web.Response:
        body = await request.read()
        peer = request.transport.get_extra_info("peername")[1]  # type: ignore[union-attr]
        got.append((request.headers["Authorization"], body, peer))
        if body == b"bad":
            problem = {"title": "Invalid request", "detail": "batch: must be a list"}
            return web.json_response(problem, status=400)
        return web.json_response({"size": len(body)})

    runner, url = await serve_batches(handler)
    yield url, got
    await runner.cleanup()


def _request(url: str, body: bytes) -> bytes:
    return post_request(url, "/v1/batch", {"Authorization": "Basic a2V5Og=="}, body)


async def test_answers_come_back_with_their_status_and_body(echo):
    url, got = echo
    client = LoadClient(url)
    try:
        ok = await client.send(_request(url, b'{"batch": [1, 2]}'))
        refused = await client.send(_request(url, b"bad"))
    finally:
        client.close()
    assert ok.status == 200 and ok.body == b'{"size": 17}'
    assert refused.status == 400 and b"must be a list" in refused.body
    assert [(auth, body) for auth, body, _ in got] == [
        ("Basic a2V5Og==", b'{"batch": [1, 2]}'),
        ("Basic a2V5Og==", b"bad"),
    ]


async def test_one_connection_carries_requests_one_after_another(echo):
    url, got = echo
    client = LoadClient(url)
    try:
        for i in range(20):
            assert (await client.send(_request(url, b"x" * (i * 5000)))).status == 200
        assert client.connections == 1
    finally:
        client.close()
    assert len({port for _, _, port in got}) == 1
    assert [len(body) for _, body, _ in got] == [i * 5000 for i in range(20)]


async def test_concurrent_requests_wait_for_a_connection_past_the_limit():
    in_flight = 0
    most = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await request.read()
        await asyncio.sleep(0.05)
        in_flight -= 1
        return web.json_response({})

    runner, url = await serve_batches(slow)
    client = LoadClient(url, limit=3)
    try:
        answers = await asyncio.gather(*(client.send(_request(url, b"{}")) for _ in range(12)))
    finally:
        client.close()
        await runner.cleanup()
    assert [a.status for a in answers] == [200] * 12
    assert most == 3


async def test_a_connection_the_server_closes_is_not_reused():
    async def closing(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({}, headers={"Connection": "close"})

    runner, url = await serve_batches(closing)
    client = LoadClient(url)
    try:
        for _ in range(3):
            assert (await client.send(_request(url, b"{}"))).status == 200
            await asyncio.sleep(0.01)
        assert client.connections == 0
    finally:
        client.close()
        await runner.cleanup()


async def _raw_server(on_request: Callable[[asyncio.StreamWriter], Awaitable[None]]) -> tuple:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await on_request(writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


@pytest.mark.parametrize(
    ("behaviour", "failure"),
    [
        ("close", ConnectionResetError),  # the server hangs up without answering
        ("silent", TimeoutError),  # it never answers
        ("garbage", httptools.HttpParserError),  # it answers with something not HTTP
    ],
)
async def test_a_request_that_gets_no_answer_fails_and_its_connection_is_dropped(
    behaviour, failure
):
    async def misbehave(writer: asyncio.StreamWriter) -> None:
        if behaviour == "close":
            writer.close()
        elif behaviour == "garbage":
            writer.write(b"SMTP 220 hello\r\n\r\n")
            await writer.drain()
        else:
            await asyncio.sleep(5)

    server, url = await _raw_server(misbehave)
    client = LoadClient(url, timeout_s=0.3)
    try:
        with pytest.raises(FAILURES) as raised:
            await client.send(_request(url, b"{}"))
        assert isinstance(raised.value, failure)
        assert client.connections == 0
    finally:
        client.close()
        server.close()


async def test_a_refused_connection_is_a_failure_and_leaves_no_connection_counted():
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    client = LoadClient(f"http://127.0.0.1:{port}")
    with pytest.raises(ConnectionRefusedError):
        await client.send(_request(f"http://127.0.0.1:{port}", b"{}"))
    assert client.connections == 0


def test_the_request_is_whole_http():
    request = post_request("http://127.0.0.1:8080", "/v1/batch", {"X-A": "1"}, b"{}")
    assert request == (
        b"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-A: 1\r\nContent-Length: 2\r\n\r\n{}"
    )
