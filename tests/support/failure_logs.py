"""What the stack's processes logged while a failed test ran, added to its report: a test that
waits for a service and gives up says nothing of why, and the session's logs are deleted with
its home when the run ends."""

from __future__ import annotations

from pathlib import Path

LINES_PER_LOG = 60


def log_sizes(log_dir: Path) -> dict[Path, int]:
    """Where each log ends now: the start of what a test about to run adds."""
    if not log_dir.is_dir():
        return {}
    return {path: path.stat().st_size for path in sorted(log_dir.glob("*.log"))}


def written_since(log_dir: Path, sizes: dict[Path, int]) -> str:
    """The last `LINES_PER_LOG` lines each log gained since `sizes`, one block per log."""
    blocks = []
    for path, size in log_sizes(log_dir).items():
        start = sizes.get(path, 0)
        if size <= start:
            continue
        with path.open("rb") as log:
            log.seek(start)
            lines = log.read().decode(errors="replace").splitlines()
        shown = lines[-LINES_PER_LOG:]
        cut = f" (the last {len(shown)} of {len(lines)})" if len(shown) < len(lines) else ""
        blocks.append(f"== {path.name}{cut}\n" + "\n".join(shown))
    return "\n".join(blocks)
