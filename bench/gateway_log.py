"""What the gateway itself failed, from its log: the cause behind a step's 502 or 503 that the
clients only see as "the service is not available"."""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

_ADDRESS = re.compile(r"\[?[0-9a-fA-F.:]+\]?:\d+")


def proxy_errors(log: Path) -> dict[str, int]:
    """Caddy's error log entries (`http.log.error`) by message, addresses masked so that one
    cause counts as one kind."""
    counts: collections.Counter[str] = collections.Counter()
    if not log.exists():
        return {}
    for line in log.read_text(errors="replace").splitlines():
        if '"http.log.error"' not in line:
            continue
        try:
            message = json.loads(line)["msg"]
        except (ValueError, KeyError, TypeError):
            continue
        counts[_ADDRESS.sub("<address>", str(message))] += 1
    return dict(counts)
