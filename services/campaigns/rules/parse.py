"""Validate a segment rule; every error names the bad node (`rule.all[1].op`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, get_args

from shared.events.contacts import ConsentState

ATTRIBUTE_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists")
METRIC_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")
METRICS = ("orders_count", "total_spent")
CONSENT_STATES = get_args(ConsentState)
NODE_KEYS = (
    "all",
    "any",
    "not",
    "tag",
    "attribute",
    "consent",
    "stage",
    "event",
    "metric",
    "segment",
)
MAX_DEPTH = 16
MAX_NODES = 200


class RuleError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def validate(rule: Any, path: str = "rule") -> set[str]:
    """Check a rule; return the segment ids it references. Raises RuleError."""
    refs: set[str] = set()
    counter = [0]
    _node(rule, path, 0, refs, counter)
    return refs


def _node(node: Any, path: str, depth: int, refs: set[str], counter: list[int]) -> None:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise RuleError(path, f"a rule has at most {MAX_NODES} nodes")
    if depth > MAX_DEPTH:
        raise RuleError(path, f"rules nest at most {MAX_DEPTH} levels")
    if not isinstance(node, dict) or not node:
        raise RuleError(path, 'must be an object such as {"tag": "vip"}')
    kinds = [k for k in NODE_KEYS if k in node]
    if len(kinds) != 1:
        expected = ", ".join(NODE_KEYS)
        raise RuleError(path, f"must have exactly one of: {expected}")
    kind = kinds[0]
    if kind in ("all", "any"):
        _only(node, path, kind)
        items = node[kind]
        if not isinstance(items, list) or not items:
            raise RuleError(f"{path}.{kind}", "must be a non-empty list of rules")
        for i, child in enumerate(items):
            _node(child, f"{path}.{kind}[{i}]", depth + 1, refs, counter)
    elif kind == "not":
        _only(node, path, "not")
        _node(node["not"], f"{path}.not", depth + 1, refs, counter)
    else:
        _LEAVES[kind](node, path, refs)


def _only(node: dict[str, Any], path: str, *allowed: str) -> None:
    for key in node:
        if key not in allowed:
            raise RuleError(f"{path}.{key}", "unknown field here")


def _text(node: dict[str, Any], path: str, key: str, max_len: int = 200) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise RuleError(f"{path}.{key}", f"must be a non-empty string of at most {max_len} chars")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


def _tag(node: dict[str, Any], path: str, refs: set[str]) -> None:
    _only(node, path, "tag")
    _text(node, path, "tag", 64)


def _stage(node: dict[str, Any], path: str, refs: set[str]) -> None:
    _only(node, path, "stage")
    _text(node, path, "stage", 64)


def _consent(node: dict[str, Any], path: str, refs: set[str]) -> None:
    _only(node, path, "consent", "state")
    _text(node, path, "consent", 32)
    if "state" in node and node["state"] not in CONSENT_STATES:
        raise RuleError(f"{path}.state", f"must be one of {', '.join(CONSENT_STATES)}")


def _attribute(node: dict[str, Any], path: str, refs: set[str]) -> None:
    _only(node, path, "attribute", "op", "value")
    _text(node, path, "attribute")
    op = node.get("op")
    if op not in ATTRIBUTE_OPS:
        raise RuleError(f"{path}.op", f"must be one of {', '.join(ATTRIBUTE_OPS)}")
    value = node.get("value")
    if op == "exists":
        if "value" in node and not isinstance(value, bool):
            raise RuleError(f"{path}.value", "exists takes no value, or true / false")
        return
    if "value" not in node:
        raise RuleError(f"{path}.value", f"{op} needs a value")
    _check_value(op, value, f"{path}.value")


def _check_value(op: str, value: Any, path: str) -> None:
    if op == "in":
        if not isinstance(value, list) or not value or not all(_is_scalar(v) for v in value):
            raise RuleError(path, "in needs a non-empty list of strings, numbers or booleans")
    elif op in ("gt", "gte", "lt", "lte"):
        if not (_is_number(value) or isinstance(value, str)):
            raise RuleError(path, f"{op} compares with a number or a string")
    elif not _is_scalar(value):
        raise RuleError(path, f"{op} needs a string, a number or a boolean")


def _metric(node: dict[str, Any], path: str, refs: set[str]) -> None:
    _only(node, path, "metric", "op", "value")
    if node.get("metric") not in METRICS:
        raise RuleError(f"{path}.metric", f"must be one of {', '.join(METRICS)}")
    if node.get("op") not in METRIC_OPS:
        raise RuleError(f"{path}.op", f"must be one of {', '.join(METRIC_OPS)}")
    if not _is_number(node.get("value")):
        raise RuleError(f"{path}.value", "must be a number")


def _event(node: dict[str, Any], path: str, refs: set[str]) -> None:
    _only(node, path, "event", "within_days", "min_count")
    _text(node, path, "event")
    for key, low in (("within_days", 1), ("min_count", 1)):
        value = node.get(key)
        if key in node and (
            not isinstance(value, int) or isinstance(value, bool) or value < low or value > 36500
        ):
            raise RuleError(f"{path}.{key}", f"must be a whole number from {low} to 36500")


def _segment(node: dict[str, Any], path: str, refs: set[str]) -> None:
    _only(node, path, "segment")
    refs.add(_text(node, path, "segment", 64))


_LEAVES: dict[str, Callable[[dict[str, Any], str, set[str]], None]] = {
    "tag": _tag,
    "stage": _stage,
    "consent": _consent,
    "attribute": _attribute,
    "metric": _metric,
    "event": _event,
    "segment": _segment,
}


def segment_refs(rule: Any, path: str = "rule") -> list[tuple[str, str]]:
    """(segment id, node path) of every segment reference in an already valid rule."""
    out: list[tuple[str, str]] = []
    if not isinstance(rule, dict):
        return out
    if "segment" in rule:
        out.append((rule["segment"], f"{path}.segment"))
    for kind in ("all", "any"):
        for i, child in enumerate(rule.get(kind, [])):
            out.extend(segment_refs(child, f"{path}.{kind}[{i}]"))
    if "not" in rule:
        out.extend(segment_refs(rule["not"], f"{path}.not"))
    return out


def inline(rule: dict[str, Any], rules_by_id: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """Replace segment references by the referenced rules (acyclic by construction)."""
    if depth > MAX_DEPTH * 4:
        raise RuleError("rule", "segment references nest too deep")
    if "segment" in rule:
        target = rules_by_id.get(rule["segment"])
        if target is None:  # a deleted segment: matches nobody
            return {"any": []}
        return inline(target, rules_by_id, depth + 1)
    if "not" in rule:
        return {"not": inline(rule["not"], rules_by_id, depth + 1)}
    for kind in ("all", "any"):
        if kind in rule:
            return {kind: [inline(c, rules_by_id, depth + 1) for c in rule[kind]]}
    return rule


def find_cycle(start: str, rule: Any, rules_by_id: dict[str, Any]) -> list[str] | None:
    """The chain of ids from `start` back to itself through references, if any."""

    def walk(node_rule: Any, chain: list[str]) -> list[str] | None:
        for ref, _ in segment_refs(node_rule):
            if ref == start:
                return [*chain, ref]
            if ref in chain or ref not in rules_by_id:
                continue
            found = walk(rules_by_id[ref], [*chain, ref])
            if found:
                return found
        return None

    return walk(rule, [start])


def event_depths(rule: dict[str, Any]) -> dict[str, int]:
    """For each event name an inlined rule reads, how many of a customer's newest events of that
    name decide it. A condition asks whether at least `min_count` of them fall in a window that
    ends now (or in all time), and the newest `min_count` answer that: a customer's events are
    loaded that deep, not their whole history."""
    depths: dict[str, int] = {}
    _add_depths(rule, depths)
    return depths


def merged_depths(depths: Iterable[dict[str, int]]) -> dict[str, int]:
    """The depths that answer every one of several rules."""
    merged: dict[str, int] = {}
    for each in depths:
        for name, depth in each.items():
            merged[name] = max(depth, merged.get(name, 0))
    return merged


def _add_depths(rule: dict[str, Any], depths: dict[str, int]) -> None:
    if "event" in rule:
        name = rule["event"]
        depths[name] = max(rule.get("min_count", 1), depths.get(name, 0))
        return
    for kind in ("all", "any"):
        for child in rule.get(kind, []):
            _add_depths(child, depths)
    if "not" in rule:
        _add_depths(rule["not"], depths)


def is_time_based(rule: dict[str, Any]) -> bool:
    """Whether membership can change with the passing of time alone (a `within_days` window)."""
    return bool(windows(rule))


def windows(rule: dict[str, Any]) -> set[tuple[str, int]]:
    """(event name, days) of every `within_days` window of an inlined rule: time alone changes
    a customer's membership only when one of their events of that name leaves that window."""
    if "event" in rule:
        return {(rule["event"], rule["within_days"])} if "within_days" in rule else set()
    children = [*rule.get("all", []), *rule.get("any", [])]
    if "not" in rule:
        children.append(rule["not"])
    return set().union(*(windows(c) for c in children))
