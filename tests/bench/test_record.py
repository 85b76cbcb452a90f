"""`ecrm bench --record`: the latest run and the history kept in bench/, against a real git."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bench.record import CHECKOUT, code_version, record

AT = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "bench").mkdir(parents=True)
    (repo / "bench" / "runner.py").write_text("RATE = 1\n")
    (repo / "bench" / "RESULTS.md").write_text("# results\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "start")
    return repo


def _history(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "history.jsonl").read_text().splitlines()]


def test_each_run_is_the_last_run_and_a_numbered_line_of_the_history(tmp_path):
    folder = _repo(tmp_path) / "bench"
    (folder / "history.jsonl").write_text(json.dumps({"run": 65, "report": {}}) + "\n")

    code = code_version(folder)
    record({"ingest_events_per_s": 15000}, folder, now=AT, code=code)
    record({"ingest_events_per_s": 16250}, folder, now=AT, code=code)

    assert json.loads((folder / "last-run.log").read_text()) == {"ingest_events_per_s": 16250}
    kept, first, second = _history(folder)
    assert kept == {"run": 65, "report": {}}  # the history before is left as it was
    assert (first["run"], second["run"]) == (66, 67)  # numbering goes on from the history's
    assert first["at"] == "2026-12-07T01:30:00+00:00"
    assert first["report"] == {"ingest_events_per_s": 15000}
    assert len(first["commit"]) == 40 and first["dirty"] is False


def test_a_run_of_changed_code_says_so_but_notes_and_the_records_do_not_count(tmp_path):
    repo = _repo(tmp_path)
    folder = repo / "bench"
    record({}, folder, code={})  # writes last-run.log and history.jsonl themselves
    _git(repo, "add", "bench")
    (folder / "RESULTS.md").write_text("# results, written up\n")
    (folder / "last-run.log").write_text("{}\n")
    assert code_version(folder)["dirty"] is False

    _git(repo, "mv", "bench/RESULTS.md", "bench/RESULTS 2026.md")  # renamed, and a space
    (repo / "n.md").write_text("notes\n")
    _git(repo, "add", "n.md")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "notes")
    _git(repo, "mv", "n.md", "notes.md")  # the original path is no entry of its own
    assert code_version(folder)["dirty"] is False

    (folder / "runner.py").write_text("RATE = 2\n")
    assert code_version(folder)["dirty"] is True


def test_outside_a_git_work_tree_the_run_is_kept_without_a_commit(tmp_path):
    assert code_version(tmp_path) == {}
    entry = record({"ingest_events_per_s": 1}, tmp_path / "out", code=code_version(tmp_path))
    assert entry["run"] == 1 and "commit" not in entry and "dirty" not in entry
    assert _history(tmp_path / "out") == [entry]


def test_by_default_the_code_measured_is_this_checkouts(tmp_path):
    entry = record({}, tmp_path)
    assert (
        entry["commit"]
        == subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=CHECKOUT, capture_output=True, text=True, check=True
        ).stdout.strip()
    )
