"""`make bench-history` (`python -m bench.history`): the recorded runs' headline figures, one
Markdown table row a run, from `bench/history.jsonl` (what `make bench` appends to). A commit
marked `+` was measured with changes to its code; `—` is a figure the run did not report."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.goals import failed_requests
from bench.record import CHECKOUT, HISTORY, load

DEFAULT = CHECKOUT / HISTORY


# (heading, the report's field or how to work it out)
COLUMNS: list[tuple[str, str | Callable[[dict[str, Any]], Any]]] = [
    ("ingest/s", "ingest_events_per_s"),
    ("vs raw broker", "ingest_vs_raw_broker"),
    ("burst/s", "ingest_burst_events_per_s"),
    ("e2e p99 ms", "e2e_p99_ms"),
    ("ack p99 ms at 70 %", "ack_p99_ms_at_70pct"),
    ("creates/s", "api_creates_per_s"),
    ("vs raw gateway", "creates_vs_raw_gateway"),
    ("creates p99 ms", "api_p99_ms"),
    ("raw broker/s", "raw_broker_events_per_s"),
    ("raw gateway/s", "raw_gateway_req_per_s"),
    ("errors", failed_requests),  # every step's, unlike the goal's count
]


def table(entries: list[dict[str, Any]]) -> str:
    heads = ["run", "at", "commit", *(name for name, _ in COLUMNS)]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for entry in entries:
        commit = entry.get("commit", "")[:7] + ("+" if entry.get("dirty") else "")
        cells = [str(entry["run"]), entry.get("at", "")[:16], commit or "—"]
        report = entry.get("report", {})
        cells += [_cell(_value(report, field)) for _, field in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _value(report: dict[str, Any], field: str | Callable[[dict[str, Any]], Any]) -> Any:
    return report.get(field) if isinstance(field, str) else field(report)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:g}"
    return f"{int(value):,}"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=DEFAULT, help="a history.jsonl")
    parser.add_argument("--last", type=int, default=0, help="only the last N runs")
    args = parser.parse_args(argv)
    entries = load(args.file)
    shown = table(entries[-args.last :] if args.last else entries)
    print(shown)
    return shown


if __name__ == "__main__":
    main()
