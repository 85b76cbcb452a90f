"""The services' HTTP protocol: uvicorn's httptools protocol, with a response's writes joined.

uvicorn writes a response's head and its body to the socket in two calls: two system calls, and
two wake-ups of the reader (the gateway). Here every write made in one turn of the event loop is
held and handed to the socket as one when the turn ends. Started by uvicorn as
`--http shared.http_server:HttpProtocol` (`UVICORN_HTTP`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

UVICORN_HTTP = "shared.http_server:HttpProtocol"

# Past this much held, hand it over at once: the transport's own buffer is what pauses a
# streaming response that outruns its reader.
HOLD_LIMIT = 64 * 1024


class JoinedWrites:
    """A transport that holds the writes of one event-loop turn and writes them as one.

    Closing (not aborting) hands over what is held first. Everything else is the transport's."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: list[bytes] = []
        self._held_bytes = 0

    def write(self, data: bytes) -> None:
        if not self._held:
            asyncio.get_running_loop().call_soon(self.flush)
        self._held.append(data)
        self._held_bytes += len(data)
        if self._held_bytes >= HOLD_LIMIT:
            self.flush()

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if not self._held:
            return
        data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held, self._held_bytes = [], 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held_bytes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(JoinedWrites(transport))  # type: ignore[arg-type]
