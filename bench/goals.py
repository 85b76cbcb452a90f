"""The benchmark's goals, checked against a run's report: what each asks, what the run measured,
and whether it was met. `make bench` prints them as a table for a reader (on stderr, before the
JSON object) and keeps them in the object as `goals`, with `goals_met` for the whole."""

from __future__ import annotations

from typing import Any, NamedTuple

INGEST_EVENTS_PER_S = 20_000
INGEST_VS_RAW_BROKER = 0.30
E2E_P99_MS = 500.0
ACK_P99_MS = 50.0
CREATES_VS_RAW_GATEWAY = 0.35
CREATES_P99_MS = 50.0


class Goal(NamedTuple):
    name: str
    wanted: str
    measured: str
    met: bool


def check(report: dict[str, Any]) -> list[Goal]:
    """Every goal against `report` (a figure the run could not take counts as not met)."""
    ingest, vs_broker = report.get("ingest_events_per_s"), report.get("ingest_vs_raw_broker")
    creates_vs, creates_p99 = report.get("creates_vs_raw_gateway"), report.get("api_p99_ms")
    errors = errors_counted(report)
    return [
        Goal(
            "ingest",
            f">= {INGEST_EVENTS_PER_S:,} events/s and >= {INGEST_VS_RAW_BROKER:.2f} x raw broker",
            f"{_n(ingest)} events/s, {_n(vs_broker)} x raw broker",
            _at_least(ingest, INGEST_EVENTS_PER_S) and _at_least(vs_broker, INGEST_VS_RAW_BROKER),
        ),
        Goal(
            "e2e_p99",
            f"<= {E2E_P99_MS:g} ms at 70 % of the ingest rate",
            f"{_n(report.get('e2e_p99_ms'))} ms",
            _at_most(report.get("e2e_p99_ms"), E2E_P99_MS),
        ),
        Goal(
            "ack_p99",
            f"<= {ACK_P99_MS:g} ms at 70 % of the ingest rate",
            f"{_n(report.get('ack_p99_ms_at_70pct'))} ms",
            _at_most(report.get("ack_p99_ms_at_70pct"), ACK_P99_MS),
        ),
        Goal(
            "creates",
            f">= {CREATES_VS_RAW_GATEWAY:.2f} x raw gateway, p99 <= {CREATES_P99_MS:g} ms",
            f"{_n(report.get('api_creates_per_s'))}/s, {_n(creates_vs)} x raw gateway, "
            f"p99 {_n(creates_p99)} ms",
            _at_least(creates_vs, CREATES_VS_RAW_GATEWAY) and _at_most(creates_p99, CREATES_P99_MS),
        ),
        Goal(
            "errors",
            "0 (the steps up to the ingest rate, the 70 % phase, the creates)",
            f"{_n(errors)}",
            errors == 0,
        ),
    ]


def errors_counted(report: dict[str, Any]) -> int | None:
    """Failed requests where the goal counts them. Steps above the ingest rate are overload by
    design: there the API may answer 503 and ask the client to retry."""
    return failed_requests(report, up_to_rate=report.get("ingest_events_per_s") or 0)


def failed_requests(report: dict[str, Any], up_to_rate: float | None = None) -> int | None:
    """The run's failed requests: its steps (those up to `up_to_rate`, or all), the 70 % phase
    and the creates; None for a report without steps."""
    if "ingest_steps" not in report:
        return None
    steps = sum(
        s.get("errors", 0)
        for s in report["ingest_steps"]
        if up_to_rate is None or s["target"] <= up_to_rate
    )
    return int(steps + report.get("ack_errors_at_70pct", 0) + report.get("api_errors", 0))


def as_report(goals: list[Goal]) -> dict[str, dict[str, Any]]:
    return {g.name: {"wanted": g.wanted, "measured": g.measured, "met": g.met} for g in goals}


def table(goals: list[Goal]) -> str:
    rows = [("goal", "wanted", "measured", "met"), *(_row(g) for g in goals)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(line.rstrip() for line in lines)


def _row(goal: Goal) -> tuple[str, str, str, str]:
    return goal.name, goal.wanted, goal.measured, "yes" if goal.met else "no"


def _at_least(value: float | None, wanted: float) -> bool:
    return value is not None and value >= wanted


def _at_most(value: float | None, wanted: float) -> bool:
    return value is not None and value <= wanted


def _n(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"
