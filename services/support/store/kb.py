"""Knowledge base: articles, full-text search ranked by PostgreSQL, view counts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.support.kb_domain import ArticleIn, ArticlePatch
from shared.errors import not_found, require_version
from shared.ids import uuid7

COLUMNS = (
    "id, title, body, category, tags, status, views, version, created_at, updated_at, published_at"
)


def public(row: asyncpg.Record, rank: float | None = None) -> dict[str, Any]:
    out = {
        "id": str(row["id"]),
        "title": row["title"],
        "body": row["body"],
        "category": row["category"],
        "tags": list(row["tags"]),
        "status": row["status"],
        "views": row["views"],
        "version": row["version"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "published_at": row["published_at"].isoformat() if row["published_at"] else None,
    }
    if rank is not None:
        out["rank"] = rank
    return out


async def create(conn: asyncpg.Connection, body: ArticleIn) -> asyncpg.Record:
    return await conn.fetchrow(
        "INSERT INTO kb_articles (id, title, body, category, tags, status, published_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6 = 'published' THEN now() END)"
        f" RETURNING {COLUMNS}",
        uuid7(),
        body.title,
        body.body,
        body.category,
        body.tags,
        body.status,
    )


async def read(
    conn: asyncpg.Connection, article_id: uuid.UUID, *, include_drafts: bool, count_view: bool
) -> asyncpg.Record:
    """One article; a published one read by the public counts as a view."""
    if count_view:
        row = await conn.fetchrow(
            f"UPDATE kb_articles SET views = views + 1 WHERE id = $1 AND status = 'published'"
            f" RETURNING {COLUMNS}",
            article_id,
        )
        if row is not None:
            return row
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM kb_articles WHERE id = $1", article_id)
    if row is None or (row["status"] != "published" and not include_drafts):
        raise not_found("article", article_id)
    return row


async def patch(
    conn: asyncpg.Connection, article_id: uuid.UUID, body: ArticlePatch, if_match: int | None
) -> asyncpg.Record:
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM kb_articles WHERE id = $1 FOR UPDATE", article_id
        )
        if row is None:
            raise not_found("article", article_id)
        require_version("article", row["version"], if_match)
        changes = body.changes()
        if not changes:
            return row
        columns = list(changes)
        sets = "".join(f"{col} = ${i + 2}, " for i, col in enumerate(columns))
        status = f"${columns.index('status') + 2}" if "status" in changes else "status"
        return await conn.fetchrow(
            f"UPDATE kb_articles SET {sets}version = version + 1, updated_at = now(),"
            f" published_at = CASE WHEN {status} = 'published' THEN coalesce(published_at, now())"
            f" END WHERE id = $1 RETURNING {COLUMNS}",
            article_id,
            *changes.values(),
        )


async def delete(conn: asyncpg.Connection, article_id: uuid.UUID) -> None:
    status = await conn.execute("DELETE FROM kb_articles WHERE id = $1", article_id)
    if status == "DELETE 0":
        raise not_found("article", article_id)


@dataclass
class ArticleQuery:
    text: str | None = None
    category: str | None = None
    statuses: tuple[str, ...] = ("published",)
    offset: int = 0
    after: uuid.UUID | None = None
    limit: int = 20


async def search(conn: asyncpg.Connection, q: ArticleQuery) -> list[dict[str, Any]]:
    """With text: best match first (ts_rank, title weighted above body), offset-paged.
    Without: newest first, keyset-paged by id. Fetches limit + 1 rows."""
    args: list[Any] = [list(q.statuses)]
    where = ["status = ANY($1::text[])"]
    if q.category:
        args.append(q.category)
        where.append(f"category = ${len(args)}")
    if q.text:
        args.append(q.text)
        n = len(args)
        where.append(f"search @@ websearch_to_tsquery('english', ${n})")
        sql = (
            f"SELECT {COLUMNS}, ts_rank(search, websearch_to_tsquery('english', ${n})) AS rank"
            f" FROM kb_articles WHERE {' AND '.join(where)}"
            f" ORDER BY rank DESC, id DESC OFFSET {int(q.offset)} LIMIT {int(q.limit) + 1}"
        )
        rows = await conn.fetch(sql, *args)
        return [public(r, round(float(r["rank"]), 6)) for r in rows]
    if q.after:
        args.append(q.after)
        where.append(f"id < ${len(args)}")
    sql = (
        f"SELECT {COLUMNS} FROM kb_articles WHERE {' AND '.join(where)}"
        f" ORDER BY id DESC LIMIT {int(q.limit) + 1}"
    )
    return [public(r) for r in await conn.fetch(sql, *args)]


async def categories(conn: asyncpg.Connection, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT category, count(*) AS articles FROM kb_articles"
        " WHERE status = ANY($1::text[]) AND category IS NOT NULL"
        " GROUP BY category ORDER BY category",
        list(statuses),
    )
    return [{"category": r["category"], "articles": r["articles"]} for r in rows]
