"""Importing customers: rows from a CSV file or a JSON list, and what each row may change in a
customer that already exists. No I/O.

A row is keyed by its email and identities. What it may change depends on the mode: `fill`
(the default) only fills what the customer lacks, `overwrite` replaces what it names. In both,
tags and attributes are added, never removed, and consent can only be withdrawn or given where
the customer has none: re-importing an old list never subscribes someone who unsubscribed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, get_args

from services.contacts.domain import MAX_ATTRIBUTES, MAX_TAGS, Channel, IdentityKind, advances

MAX_ROWS = 5_000
FIELDS = ("email", "phone", "first_name", "last_name", "company", "stage", "tags")
CONSENT_PREFIX = "consent_"
ATTRIBUTE_PREFIX = "attributes."
CONSENT_COLUMNS = tuple(CONSENT_PREFIX + channel for channel in get_args(Channel))
IDENTITY_COLUMNS = tuple(kind for kind in get_args(IdentityKind) if kind != "email")
COLUMNS = (*FIELDS, *CONSENT_COLUMNS, *IDENTITY_COLUMNS)


class RowError(ValueError):
    """A row that cannot be imported as it is: the field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ColumnError(ValueError):
    """A header the import does not understand: the whole file is refused before any write."""


def rows_from_csv(text: str) -> list[tuple[int, dict[str, Any] | RowError]]:
    """(line number, row) for each non-blank line after the header. Empty cells are left out:
    an import never clears a field."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise ColumnError("the CSV has no header row")
    columns = [_column(name) for name in header]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise ColumnError(f"columns named twice: {', '.join(duplicated)}")
    out: list[tuple[int, dict[str, Any] | RowError]] = []
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue
        out.append((reader.line_num, _row_of(columns, record)))
    return out


def _column(name: str) -> str:
    clean = name.strip()
    if clean.lower().startswith(ATTRIBUTE_PREFIX) and len(clean) > len(ATTRIBUTE_PREFIX):
        return ATTRIBUTE_PREFIX + clean[len(ATTRIBUTE_PREFIX) :]
    column = clean.lower().replace(" ", "_").replace("-", "_")
    if column not in COLUMNS:
        known = ", ".join(COLUMNS)
        raise ColumnError(f"unknown column {name!r}: use {known} or attributes.<name>")
    return column


def _row_of(columns: list[str], record: list[str]) -> dict[str, Any] | RowError:
    if len(record) > len(columns):
        return RowError("row", f"{len(record)} cells for {len(columns)} columns")
    row: dict[str, Any] = {}
    for column, cell in zip(columns, record, strict=False):
        value = cell.strip()
        if not value:
            continue
        if column == "tags":
            row["tags"] = [tag.strip() for tag in value.split(";") if tag.strip()]
        elif column.startswith(ATTRIBUTE_PREFIX):
            row.setdefault("attributes", {})[column[len(ATTRIBUTE_PREFIX) :]] = value
        elif column.startswith(CONSENT_PREFIX):
            row.setdefault("consent", {})[column[len(CONSENT_PREFIX) :]] = value
        elif column in IDENTITY_COLUMNS:
            row.setdefault("identities", []).append({"kind": column, "value": value})
        else:
            row[column] = value
    return row


def changes_for(
    current: Mapping[str, Any], given: Mapping[str, Any], overwrite: bool
) -> dict[str, Any]:
    """The fields a row changes in an existing customer (empty: nothing to do)."""
    out: dict[str, Any] = {}
    if given.get("email") and not current["email"]:
        out["email"] = given["email"]
    for field in ("phone", "first_name", "last_name", "company"):
        value = given.get(field)
        if value and value != current[field] and (overwrite or not current[field]):
            out[field] = value
    stage = given.get("stage")
    if stage and stage != current["stage"] and (overwrite or advances(current["stage"], stage)):
        out["stage"] = stage
    tags = list(dict.fromkeys([*current["tags"], *given.get("tags", [])]))
    if len(tags) > MAX_TAGS:
        raise RowError("tags", f"the customer would have more than {MAX_TAGS} tags")
    if tags != list(current["tags"]):
        out["tags"] = tags
    attributes = _attributes(current["attributes"], given.get("attributes") or {}, overwrite)
    if attributes != current["attributes"]:
        out["attributes"] = attributes
    return out


def _attributes(current: dict[str, Any], given: dict[str, Any], overwrite: bool) -> dict[str, Any]:
    merged = {**current, **given} if overwrite else {**given, **current}
    if len(merged) > MAX_ATTRIBUTES:
        raise RowError("attributes", f"the customer would have more than {MAX_ATTRIBUTES}")
    return merged


def consent_to_apply(current: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, str]:
    """Withdrawal always applies; a subscription (or a request to confirm one, `pending`) only
    where the customer has no state yet."""
    out = {}
    for channel, state in given.items():
        now = (current.get(channel) or {}).get("state", "unknown")
        withdrawn = state == "unsubscribed" and now != "unsubscribed"
        if withdrawn or (state in ("subscribed", "pending") and now == "unknown"):
            out[channel] = state
    return out
