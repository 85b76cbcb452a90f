"""The goals `make bench` checks a run against: each met or not from the run's own figures."""

from __future__ import annotations

import pytest

from bench import goals

NAMES = ["ingest", "e2e_p99", "ack_p99", "creates", "errors"]


def _report(**changes: object) -> dict:
    """A run that meets every goal, with `changes` applied."""
    report: dict = {
        "ingest_events_per_s": 20_000,
        "ingest_vs_raw_broker": 0.31,
        "e2e_p99_ms": 120.0,
        "ack_p99_ms_at_70pct": 44.0,
        "ack_errors_at_70pct": 0,
        "api_creates_per_s": 4_000,
        "creates_vs_raw_gateway": 0.36,
        "api_p99_ms": 48.5,
        "api_errors": 0,
        "ingest_steps": [
            {"target": 18_750.0, "errors": 0},
            {"target": 20_000.0, "errors": 0},
            {"target": 21_250.0, "errors": 3},  # overload above the ingest rate: not counted
        ],
    }
    report.update(changes)
    return report


def _met(report: dict) -> dict[str, bool]:
    return {g.name: g.met for g in goals.check(report)}


def test_a_run_that_meets_every_goal():
    checked = goals.check(_report())
    assert [g.name for g in checked] == NAMES
    assert all(g.met for g in checked)
    assert checked[0].measured == "20,000 events/s, 0.31 x raw broker"


@pytest.mark.parametrize(
    ("changes", "missed"),
    [
        ({"ingest_events_per_s": 18_750}, "ingest"),
        ({"ingest_vs_raw_broker": 0.29}, "ingest"),  # the rate alone is not enough
        ({"e2e_p99_ms": 500.1}, "e2e_p99"),
        ({"e2e_p99_ms": None}, "e2e_p99"),  # no sample: not met
        ({"ack_p99_ms_at_70pct": 50.5}, "ack_p99"),
        ({"creates_vs_raw_gateway": 0.2}, "creates"),
        ({"api_p99_ms": 51.0}, "creates"),  # fast enough, but the tail is too long
        ({"api_errors": 1}, "errors"),
        ({"ack_errors_at_70pct": 2}, "errors"),
    ],
)
def test_each_goal_is_missed_on_its_own_figure(changes, missed):
    met = _met(_report(**changes))
    assert [name for name, ok in met.items() if not ok] == [missed]


def test_an_error_at_or_below_the_ingest_rate_counts():
    steps = [{"target": 18_750.0, "errors": 1}, {"target": 20_000.0, "errors": 0}]
    report = _report(ingest_steps=steps)
    assert goals.errors_counted(report) == 1
    assert not _met(report)["errors"]


def test_the_report_and_the_table_say_the_same():
    checked = goals.check(_report(ack_p99_ms_at_70pct=118.4))
    kept = goals.as_report(checked)
    assert kept["ack_p99"] == {
        "wanted": "<= 50 ms at 70 % of the ingest rate",
        "measured": "118.4 ms",
        "met": False,
    }
    lines = goals.table(checked).splitlines()
    assert lines[0].split() == ["goal", "wanted", "measured", "met"]
    assert [line.split()[0] for line in lines[1:]] == NAMES
    assert [line.split()[-1] for line in lines[1:]] == ["yes", "yes", "no", "yes", "yes"]
