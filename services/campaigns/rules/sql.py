"""Compile an (inlined) rule into ONE SQL predicate over `audience a` (see evaluate.py for the
same semantics in Python). Every leaf yields true or false, never NULL, so NOT is exact."""

from __future__ import annotations

from typing import Any

import orjson

from services.campaigns.rules.values import as_decimal, is_number


class Params:
    """Collects bind values; `first` is the number of the first placeholder to hand out."""

    def __init__(self, first: int = 1) -> None:
        self.first = first
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${self.first + len(self.values) - 1}"

    def json(self, value: Any) -> str:
        return f"{self.add(orjson.dumps(value).decode())}::text::jsonb"

    def numeric(self, value: Any) -> str:
        return f"{self.add(str(as_decimal(value)))}::text::numeric"


_CMP = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def compile_rule(rule: dict[str, Any], params: Params, now: str) -> str:
    """`now` is the placeholder (or SQL expression) of the evaluation time."""
    if "all" in rule:
        if not rule["all"]:
            return "false"
        return "(" + " AND ".join(compile_rule(r, params, now) for r in rule["all"]) + ")"
    if "any" in rule:
        if not rule["any"]:
            return "false"
        return "(" + " OR ".join(compile_rule(r, params, now) for r in rule["any"]) + ")"
    if "not" in rule:
        return f"(NOT {compile_rule(rule['not'], params, now)})"
    if "tag" in rule:
        return f"({params.add(rule['tag'])}::text = ANY(a.tags))"
    if "stage" in rule:
        return f"(a.stage = {params.add(rule['stage'])}::text)"
    if "consent" in rule:
        channel, state = params.add(rule["consent"]), params.add(rule.get("state", "subscribed"))
        return f"COALESCE(a.consent ->> {channel}::text = {state}::text, false)"
    if "attribute" in rule:
        return _attribute(rule, params)
    if "metric" in rule:
        column = "a.orders_count" if rule["metric"] == "orders_count" else "a.total_spent"
        return f"({column} {_CMP[rule['op']]} {params.numeric(rule['value'])})"
    if "event" in rule:
        return _event(rule, params, now)
    raise ValueError(f"not an inlined rule node: {sorted(rule)}")


def _attribute(rule: dict[str, Any], params: Params) -> str:
    key = params.add(rule["attribute"])
    value = f"(a.attributes -> {key}::text)"
    kind = f"jsonb_typeof({value})"
    op = rule["op"]
    if op == "exists":
        present = f"COALESCE({kind} <> 'null', false)"
        return present if rule.get("value", True) else f"(NOT {present})"
    if op in ("eq", "ne"):
        equal = f"COALESCE({value} = {params.json(rule['value'])}, false)"
        return equal if op == "eq" else f"(NOT {equal})"
    if op == "in":
        return (
            f"EXISTS (SELECT 1 FROM jsonb_array_elements({params.json(rule['value'])}) v"
            f" WHERE v = {value})"
        )
    if op == "contains":
        return _contains(rule["value"], value, kind, params)
    return _ordered(rule, value, kind, params)


def _contains(expected: Any, value: str, kind: str, params: Params) -> str:
    in_string = "false"
    if isinstance(expected, str):
        in_string = f"strpos({value} #>> '{{}}', {params.add(expected)}::text) > 0"
    in_array = (
        f"EXISTS (SELECT 1 FROM jsonb_array_elements({value}) v WHERE v = {params.json(expected)})"
    )
    return (
        f"(CASE {kind} WHEN 'string' THEN {in_string} WHEN 'array' THEN {in_array} ELSE false END)"
    )


def _ordered(rule: dict[str, Any], value: str, kind: str, params: Params) -> str:
    op, expected = _CMP[rule["op"]], rule["value"]
    if is_number(expected):
        return (
            f"(CASE WHEN {kind} = 'number'"
            f" THEN ({value} #>> '{{}}')::numeric {op} {params.numeric(expected)}"
            " ELSE false END)"
        )
    return (
        f"(CASE WHEN {kind} = 'string'"
        f" THEN ({value} #>> '{{}}') COLLATE \"C\" {op} {params.add(expected)}::text"
        ' COLLATE "C" ELSE false END)'
    )


def _event(rule: dict[str, Any], params: Params, now: str) -> str:
    window = ""
    if "within_days" in rule:
        days = params.add(rule["within_days"])
        window = f" AND e.at >= {now} - make_interval(days => {days}::int)"
    least = params.add(rule.get("min_count", 1))
    # Counted up to `min_count` only: a customer's whole history of the name is not read.
    return (
        f"((SELECT count(*) FROM (SELECT FROM audience_events e"
        f" WHERE e.customer_id = a.customer_id AND e.name = {params.add(rule['event'])}::text"
        f"{window} LIMIT {least}::int) e) >= {least}::int)"
    )
