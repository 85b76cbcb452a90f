"""JSON value comparisons with PostgreSQL jsonb's semantics, so Python and SQL agree:
numbers compare exactly as decimals, booleans are never numbers, strings compare by code point
(the SQL side uses COLLATE "C")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def as_decimal(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def json_equal(a: Any, b: Any) -> bool:
    if is_number(a) and is_number(b):
        return as_decimal(a) == as_decimal(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return a is None and b is None


def compare(actual: Any, op: str, expected: Any) -> bool:
    """gt/gte/lt/lte: numbers against numbers, strings against strings; else false."""
    if is_number(expected):
        if not is_number(actual):
            return False
        left, right = as_decimal(actual), as_decimal(expected)
    elif isinstance(expected, str):
        if not isinstance(actual, str):
            return False
        left, right = actual.encode(), expected.encode()  # type: ignore[assignment]
    else:
        return False
    return {
        "eq": left == right,
        "ne": left != right,
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
    }[op]


def contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str):
        return isinstance(expected, str) and expected in actual
    if isinstance(actual, list):
        return any(json_equal(item, expected) for item in actual)
    return False
