"""Libraries that log each request or fetch at INFO stay quiet in the services' logs (the ops
collector scrapes every service every second through httpx)."""

from __future__ import annotations

import subprocess
import sys

QUIET = ("httpx", "httpcore", "aiokafka", "uvicorn.access")


def test_chatty_libraries_log_warnings_only():
    script = (
        "import logging; from shared.logging import configure_logging;"
        " configure_logging('analytics', 'info');"
        f" print([n for n in {QUIET!r} if logging.getLogger(n).isEnabledFor(logging.INFO)])"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
