"""Knowledge base: published articles are public (self-service); drafts and writes need a token.

A request with a bearer token is checked (401/403 as usual) and, with `support:read`, may see
drafts; without a token only published articles exist.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Query, Request, Response

from services.support.api.common import if_match, parse_id, pool, with_etag
from services.support.kb_domain import ArticleIn, ArticlePatch
from services.support.store import kb
from shared.auth import authorize, scoped
from shared.errors import Problem, invalid
from shared.http import JSON, service_router
from shared.ids import parse_uuid
from shared.pagination import decode_cursor, encode_cursor
from shared.ratelimit import limit_public

router = service_router("/api/v1/kb", "knowledge base")
WRITE = scoped("support:write")
MAX_QUERY = 300


def _is_agent(request: Request) -> bool:
    if not request.headers.get("authorization"):
        return False
    authorize(request, "support:read")
    return True


@router.post("/articles", status_code=201, **WRITE)
async def create_article(body: ArticleIn, request: Request) -> JSON:
    async with pool(request).acquire() as conn:
        out = kb.public(await kb.create(conn, body))
    return with_etag(out, 201, f"/api/v1/kb/articles/{out['id']}")


@router.get("/articles", dependencies=[Depends(limit_public)])
async def list_articles(
    request: Request,
    q: Annotated[str | None, Query(max_length=MAX_QUERY)] = None,
    category: str | None = None,
    status: Literal["draft", "published", "all"] = "published",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> dict[str, Any]:
    agent = _is_agent(request)
    if status != "published" and not agent:
        raise Problem(
            401,
            "Unauthorized",
            "drafts need a bearer token with support:read",
            headers={"WWW-Authenticate": "Bearer"},
        )
    statuses = ("draft", "published") if status == "all" else (status,)
    position = decode_cursor(cursor)
    text = q.strip() if q and q.strip() else None
    query = kb.ArticleQuery(text=text, category=category, statuses=statuses, limit=limit)
    if text:
        query.offset = _offset(position)
    elif isinstance(position, str):
        query.after = parse_uuid(position)
    async with pool(request).acquire() as conn:
        found = await kb.search(conn, query)
    more = len(found) > limit
    items = found[:limit]
    next_key = (query.offset + limit) if text else (items[-1]["id"] if items else None)
    return {"items": items, "next_cursor": encode_cursor(next_key) if more else None}


def _offset(position: Any) -> int:
    if position is None:
        return 0
    if not isinstance(position, int) or position < 0:
        raise invalid("cursor", "not a cursor returned by this list")
    return position


@router.get("/categories")
async def list_categories(request: Request) -> dict[str, Any]:
    statuses = ("draft", "published") if _is_agent(request) else ("published",)
    async with pool(request).acquire() as conn:
        return {"items": await kb.categories(conn, statuses), "next_cursor": None}


@router.get("/articles/{article_id}", dependencies=[Depends(limit_public)])
async def get_article(article_id: str, request: Request) -> JSON:
    agent = _is_agent(request)
    async with pool(request).acquire() as conn:
        row = await kb.read(
            conn, parse_id(article_id, "article"), include_drafts=agent, count_view=not agent
        )
    return with_etag(kb.public(row))


@router.patch("/articles/{article_id}", **WRITE)
async def patch_article(
    article_id: str,
    body: ArticlePatch,
    request: Request,
    if_match_header: Annotated[str | None, Header(alias="If-Match")] = None,
) -> JSON:
    async with pool(request).acquire() as conn:
        row = await kb.patch(conn, parse_id(article_id, "article"), body, if_match(if_match_header))
    return with_etag(kb.public(row))


@router.delete("/articles/{article_id}", status_code=204, **WRITE)
async def delete_article(article_id: str, request: Request) -> Response:
    async with pool(request).acquire() as conn:
        await kb.delete(conn, parse_id(article_id, "article"))
    return Response(status_code=204)
