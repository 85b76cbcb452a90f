"""A request the database could not serve is a 503 that says nothing was accepted, with
Retry-After, whatever asyncpg raised: the server's refusal while it restarts, or the client's
own connection left in a state no operation can start from."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from shared.http import install_error_handlers

RAISED = {
    "restarting": asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
    "connection state": asyncpg.exceptions._base.InternalClientError(
        "cannot switch to state 15; another operation (2) is in progress"
    ),
}


@pytest.mark.parametrize("case", sorted(RAISED))
async def test_the_database_unavailable_is_a_503_saying_nothing_was_accepted(case: str):
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things")
    async def add_thing() -> None:
        raise RAISED[case]

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/things", json={})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.headers["content-type"] == "application/problem+json"
    assert "nothing was accepted" in response.json()["detail"]
