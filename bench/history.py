"""`make bench-history` (`python -m bench.history`): the recorded runs' headline figures, one
Markdown table row a run, from `bench/history.jsonl` (what `make bench` appends to). A commit
marked `+` was measured with changes to its code; `—` is a figure the run did not report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.record import HISTORY

DEFAULT = Path(__file__).resolve().parent / HISTORY

# (heading, how to read it from a report)
COLUMNS: list[tuple[str, Any]] = [
    ("ingest/s", lambda r: r.get("ingest_events_per_s")),
    ("vs raw broker", lambda r: r.get("ingest_vs_raw_broker")),
    ("burst/s", lambda r: r.get("ingest_burst_events_per_s")),
    ("e2e p99 ms", lambda r: r.get("e2e_p99_ms")),
    ("ack p99 ms at 70 %", lambda r: r.get("ack_p99_ms_at_70pct")),
    ("creates/s", lambda r: r.get("api_creates_per_s")),
    ("vs raw gateway", lambda r: r.get("creates_vs_raw_gateway")),
    ("creates p99 ms", lambda r: r.get("api_p99_ms")),
    ("raw broker/s", lambda r: r.get("raw_broker_events_per_s")),
    ("raw gateway/s", lambda r: r.get("raw_gateway_req_per_s")),
    ("errors", lambda r: _errors(r)),
]


def _errors(report: dict[str, Any]) -> int | None:
    if "ingest_steps" not in report:
        return None
    steps = sum(step.get("errors", 0) for step in report["ingest_steps"])
    later = report.get("ack_errors_at_70pct", 0) + report.get("api_errors", 0)
    return int(steps + later)


def load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def table(entries: list[dict[str, Any]]) -> str:
    heads = ["run", "at", "commit", *(name for name, _ in COLUMNS)]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for entry in entries:
        commit = entry.get("commit", "")[:7] + ("+" if entry.get("dirty") else "")
        cells = [str(entry["run"]), entry.get("at", "")[:16], commit or "—"]
        cells += [_cell(read(entry.get("report", {}))) for _, read in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
