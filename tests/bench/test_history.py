"""`make bench-history`: the recorded runs as a Markdown table."""

from __future__ import annotations

import json

from bench.history import main, table

FULL = {
    "ingest_events_per_s": 12500,
    "ingest_vs_raw_broker": 0.217,
    "ingest_burst_events_per_s": 17500,
    "e2e_p99_ms": 61.0,
    "ack_p99_ms_at_70pct": 72.2,
    "api_creates_per_s": 916,
    "creates_vs_raw_gateway": 0.069,
    "api_p99_ms": 213.24,
    "raw_broker_events_per_s": 57727,
    "raw_gateway_req_per_s": 13292,
    "ingest_steps": [{"errors": 0}, {"errors": 2}],
    "ack_errors_at_70pct": 1,
    "api_errors": 0.0,
}
RUN_66 = {"run": 66, "at": "2026-12-07T01:00:32+00:00", "commit": "2fff228b90", "dirty": False}


def test_a_row_a_run_with_its_headline_figures():
    lines = table([RUN_66 | {"report": FULL}]).splitlines()
    assert lines[0].startswith("| run | at | commit | ingest/s | vs raw broker |")
    assert len(lines) == 3 and lines[1].count("---") == lines[0].count("|") - 1
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells[:6] == ["66", "2026-12-07T01:00", "2fff228", "12,500", "0.217", "17,500"]
    assert cells[6:] == ["61", "72.2", "916", "0.069", "213.24", "57,727", "13,292", "3"]


def test_changed_code_and_missing_figures_are_marked():
    row = table([{"run": 1, "at": "", "commit": "abcdef123", "dirty": True, "report": {}}])
    cells = [c.strip() for c in row.splitlines()[2].strip("|").split("|")]
    assert cells[2] == "abcdef1+" and set(cells[3:]) == {"—"}
    (cells,) = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in table([{"run": 2, "report": {}}]).splitlines()[2:]
    ]
    assert cells[1:3] == ["", "—"]  # recorded outside a git checkout


def test_the_last_runs_of_a_history_file(tmp_path, capsys):
    path = tmp_path / "history.jsonl"
    lines = [
        json.dumps({"run": n, "report": {"ingest_events_per_s": n * 100}}) for n in (64, 65, 66)
    ]
    path.write_text("\n".join(lines) + "\n")
    shown = main(["--file", str(path), "--last", "2"])
    assert capsys.readouterr().out.strip() == shown
    assert [line.split("|")[1].strip() for line in shown.splitlines()[2:]] == ["65", "66"]
    assert main(["--file", str(tmp_path / "none.jsonl")]).count("\n") == 1  # headings only
