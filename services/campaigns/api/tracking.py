"""Public links carried by mails (no bearer token; each carries a signed token): the open
pixel, the click redirect, the unsubscribe link (RFC 8058 one-click POST, GET = a page) and the
double opt-in confirmation (GET = a page, POST confirms: mail scanners that follow every link
of a mail must not subscribe anyone)."""

from __future__ import annotations

import base64
import html
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.campaigns import tokens
from services.campaigns.api.common import pool
from services.campaigns.store import tracking
from shared.errors import Problem
from shared.ratelimit import limit_public

router = APIRouter(tags=["tracking"], dependencies=[Depends(limit_public)])
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, private"}


def _payload(request: Request, purpose: str, token: str) -> dict[str, Any]:
    try:
        return tokens.verify(request.app.state.signing_key, purpose, token)
    except tokens.BadToken:
        raise Problem(400, "Invalid link", "this link is not valid or was altered") from None


@router.get("/t/o/{token}.gif")
async def open_pixel(token: str, request: Request) -> Response:
    payload = _payload(request, "o", token)
    async with pool(request).acquire() as conn:
        await tracking.record_open(conn, str(payload.get("m")), request.headers.get("user-agent"))
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get("/t/c/{token}")
async def click(token: str, request: Request) -> Response:
    payload = _payload(request, "c", token)
    target = payload.get("u")
    if not isinstance(target, str) or not target.lower().startswith(("http://", "https://")):
        raise Problem(400, "Invalid link", "this link has no valid target")
    async with pool(request).acquire() as conn:
        await tracking.record_click(conn, str(payload.get("m")), target)
    return RedirectResponse(target, status_code=302, headers=NO_STORE)


@router.get("/u/confirm/{token}")
async def confirm_page(token: str, request: Request) -> HTMLResponse:
    await _message_of(request, "s", token)
    form = '<button type="submit">Yes, subscribe me</button>'
    question = "<p>Do you want to receive our emails?</p>"
    return _form_page(request, "Confirm your subscription", question, form)


@router.post("/u/confirm/{token}")
async def confirm(token: str, request: Request) -> HTMLResponse:
    payload = _payload(request, "s", token)
    async with pool(request).acquire() as conn:
        await tracking.confirm(conn, str(payload.get("m")))
    return _answer_page("Subscribed", "<p>Thank you: your subscription is confirmed.</p>")


@router.get("/u/{token}")
async def unsubscribe_page(token: str, request: Request) -> HTMLResponse:
    await _message_of(request, "u", token)
    form = (
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button>'
    )
    question = "<p>Do you want to stop receiving these emails?</p>"
    return _form_page(request, "Unsubscribe", question, form)


@router.post("/u/{token}")
async def unsubscribe(token: str, request: Request) -> HTMLResponse:
    payload = _payload(request, "u", token)
    async with pool(request).acquire() as conn:
        await tracking.unsubscribe(conn, str(payload.get("m")))
    return _answer_page("Unsubscribed", "<p>You will not receive these emails any more.</p>")


async def _message_of(request: Request, purpose: str, token: str) -> None:
    """A GET of a link only shows its page: 400 for a bad token, 404 for an unknown mail."""
    payload = _payload(request, purpose, token)
    async with pool(request).acquire() as conn:
        await tracking.message_exists(conn, str(payload.get("m")))


def _form_page(request: Request, title: str, question: str, form: str) -> HTMLResponse:
    """The page a link's GET shows: the action is a POST to the same link."""
    action = html.escape(str(request.url.path), quote=True)
    body = f'{question}<form method="post" action="{action}">{form}</form>'
    return HTMLResponse(_page(title, body), headers=NO_STORE)


def _answer_page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(_page(title, body), headers=NO_STORE)


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width"></head>'
        f'<body style="font-family:sans-serif;max-width:32em;margin:3em auto">'
        f"<h1>{title}</h1>{body}</body></html>"
    )
