"""`POST /api/v1/customers/import`: many customers at once, from a CSV file or a JSON list.

Rows are applied in batches, one transaction a batch and a savepoint a row: a refused row is
reported and the others are kept. Applying a row again changes nothing (it is found by its keys
and already up to date), so a client that lost the answer sends the whole file again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import asyncpg
import orjson
from fastapi import Query, Request
from pydantic import ValidationError

from services.contacts.domain import CustomerIn
from services.contacts.imports import MAX_ROWS, ColumnError, RowError, rows_from_csv
from services.contacts.store.imports import Outcome, erased_keys, import_row, keys_of
from services.contacts.store.locks import lock_keys
from shared.auth import scoped
from shared.errors import Problem, invalid, malformed_json
from shared.http import JSON, field_errors, read_body, service_router

router = service_router("/api/v1/customers", "customers")
MAX_BYTES = 5 * 1024 * 1024  # the gateway's own limit
BATCH = 200
DEADLOCK_ATTEMPTS = 3
ERASED = "names a person whose data was erased: add them back one at a time, if they ask to"
Rows = list[tuple[int, dict[str, Any] | RowError]]
Valid = CustomerIn | list[dict[str, str]]  # a row to import, or the errors that refuse it

_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["customers"],
                "additionalProperties": False,
                "properties": {
                    "customers": {
                        "type": "array",
                        "maxItems": MAX_ROWS,
                        "items": {"$ref": "#/components/schemas/CustomerIn"},
                    }
                },
            }
        },
    },
}


WRITE = scoped("contacts:write")
WRITE["openapi_extra"]["requestBody"] = _BODY


@router.post("/import", **WRITE)
async def import_customers(
    request: Request,
    update: Literal["fill", "overwrite"] = "fill",
    legal_basis: Annotated[str | None, Query(max_length=64)] = None,
) -> JSON:
    rows = _rows(request, await read_body(request, MAX_BYTES))
    if not rows:
        raise invalid("body", "no rows to import")
    if len(rows) > MAX_ROWS:
        raise invalid("body", f"at most {MAX_ROWS} rows a request: split the file")
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    rejected: list[dict[str, Any]] = []
    async with request.app.state.runtime.db.acquire() as conn:
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            outcomes = await _apply_batch(conn, batch, update == "overwrite", legal_basis)
            for (number, _), outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, str):
                    counts[outcome] += 1
                else:
                    rejected.append({"row": number, "errors": outcome})
    if rejected and len(rejected) == len(rows):
        raise _nothing_imported(rejected)
    return JSON({**counts, "rejected": rejected})


async def _apply_batch(
    conn: Any, batch: Rows, overwrite: bool, legal_basis: str | None
) -> list[Outcome | list[dict[str, str]]]:
    """One transaction, which takes every key of its rows first. A deadlock with another writer
    (a PATCH changing an address locks the row, then the address) aborts one of the two: the
    batch then starts again."""
    rows = await _not_erased(conn, [_valid(raw) for _, raw in batch])
    keys = set().union(*(keys_of(row) for row in rows if isinstance(row, CustomerIn)))
    attempt = 1
    while True:
        try:
            async with conn.transaction():
                await lock_keys(conn, keys)
                return [await _apply(conn, row, overwrite, legal_basis) for row in rows]
        except asyncpg.DeadlockDetectedError:
            if attempt == DEADLOCK_ATTEMPTS:
                raise
            attempt += 1


async def _not_erased(conn: Any, rows: list[Valid]) -> list[Valid]:
    erased = iter(await erased_keys(conn, [row for row in rows if isinstance(row, CustomerIn)]))
    out: list[Valid] = []
    for row in rows:
        field = next(erased) if isinstance(row, CustomerIn) else None
        out.append([{"field": field, "message": ERASED}] if field else row)
    return out


def _valid(raw: dict[str, Any] | RowError) -> Valid:
    """The row as a customer, or the errors that refuse it."""
    if isinstance(raw, RowError):
        return [{"field": raw.field, "message": str(raw)}]
    try:
        row = CustomerIn.model_validate(raw)
    except ValidationError as exc:
        return field_errors(exc.errors())
    if not row.email and not row.identities:
        message = "an email or an identity is required to find the customer"
        return [{"field": "email", "message": message}]
    return row


def _rows(request: Request, body: bytes) -> Rows:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "text/csv":
        try:
            return rows_from_csv(body.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise invalid("body", "the CSV must be UTF-8") from None
        except ColumnError as exc:
            raise invalid("columns", str(exc)) from None
    if kind == "application/json":
        return _json_rows(body)
    raise Problem(
        415,
        "Unsupported media type",
        "send text/csv or application/json",
        errors=[{"field": "Content-Type", "message": "text/csv or application/json"}],
    )


def _json_rows(body: bytes) -> Rows:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise malformed_json() from None
    if not isinstance(doc, dict) or set(doc) != {"customers"}:
        raise invalid("body", 'send {"customers": [...]}')
    if not isinstance(doc["customers"], list):
        raise invalid("customers", "must be a list of customers")
    return list(enumerate(doc["customers"], start=1))


async def _apply(
    conn: Any, row: Valid, overwrite: bool, legal_basis: str | None
) -> Outcome | list[dict[str, str]]:
    if not isinstance(row, CustomerIn):
        return row
    try:
        return await import_row(conn, row, overwrite=overwrite, legal_basis=legal_basis)
    except RowError as exc:
        return [{"field": exc.field, "message": str(exc)}]
    except Problem as exc:  # a conflict found while writing (an address taken meanwhile)
        field = str(exc.extra.get("field") or "row")
        return exc.errors or [{"field": field, "message": exc.detail or exc.title}]


def _nothing_imported(rejected: list[dict[str, Any]]) -> Problem:
    """A 422 naming each refused row's fields (`rows.<row>.<field>`), and the same `rejected`
    list a partly imported file is answered with."""
    errors = [
        {"field": f"rows.{r['row']}.{e['field']}", "message": e["message"]}
        for r in rejected
        for e in r["errors"]
    ]
    return Problem(
        422, "Invalid request", "no row could be imported", errors=errors, rejected=rejected
    )
