"""`ecrm bench --record DIR` (what `make bench` runs): keep each run's JSON object in the repo.

`DIR/last-run.log` holds the latest run's object as printed. `DIR/history.jsonl` gets one line
per run: its number (the runs of bench/RESULTS.md's history go on from the last line's), when
it ended, the commit of the code it measured (this checkout's) and the object itself. A run of
code that differs from that commit says so (`"dirty": true`); edits to Markdown and to these two
files do not count, so a run taken while RESULTS.md is being written up still names its code.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parent
LAST_RUN = "last-run.log"
HISTORY = "history.jsonl"
NOT_CODE = (".md", LAST_RUN, HISTORY)


def record(
    report: dict[str, Any],
    folder: Path,
    now: datetime | None = None,
    code: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the run into `folder`; returns the history line added. `code`: the measured code's
    `code_version`, this checkout's by default."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / LAST_RUN).write_text(json.dumps(report) + "\n")
    history = folder / HISTORY
    entry = {
        "run": _last_run_number(history) + 1,
        "at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        **(code_version(CHECKOUT) if code is None else code),
        "report": report,
    }
    with history.open("a") as out:
        out.write(json.dumps(entry) + "\n")
    return entry


def load(history: Path) -> list[dict[str, Any]]:
    """The runs of a history file, oldest first (none when there is no file)."""
    if not history.exists():
        return []
    return [json.loads(line) for line in history.read_text().splitlines() if line.strip()]


def _last_run_number(history: Path) -> int:
    runs = load(history)
    return int(runs[-1]["run"]) if runs else 0


def code_version(folder: Path) -> dict[str, Any]:
    """The commit checked out where `folder` is, and whether the code differs from it; nothing
    when `folder` is not in a git work tree (an exported tarball)."""
    commit = _git(folder, "rev-parse", "HEAD")
    if commit is None:
        return {}
    changed = _paths(_git(folder, "status", "--porcelain", "-z", "--untracked-files=no") or "")
    return {"commit": commit.strip(), "dirty": any(not p.endswith(NOT_CODE) for p in changed)}


def _paths(porcelain_z: str) -> list[str]:
    """The paths of `git status --porcelain -z`: "XY path" entries, a rename's or a copy's
    original path in the entry after it."""
    entries = iter(porcelain_z.split("\0"))
    paths = []
    for entry in entries:
        if entry:
            paths.append(entry[3:])
            if entry[0] in "RC":
                next(entries, None)
    return paths


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None
