"""Reading one service's py-spy samples (`record --gil -f raw`, collapsed stacks).

py-spy samples the thread that holds the GIL. A single-threaded asyncio service holds it while it
runs Python, and also while it waits, runnable, for a core (uvloop lets go of it only to poll).
So a sample is time the process wanted a core, not time it had one. The lines that write to a
socket get more than their share: the write wakes the reader, which often takes the core at
once, and the writer waits inside `write` (bench/RESULTS.md, "py-spy's samples are not CPU
time"). A summary reports those lines apart and gives every other share over what is left.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

# (file, function) of the lines whose samples are mostly a wait inside `write()`. asyncpg's
# lines also encode the statement's arguments, in C: for large arrays, part of them is CPU.
SOCKET_WRITES = frozenset(
    {
        ("asyncpg/connection.py", "Connection._do_execute"),  # a statement sent
        ("asyncpg/connection.py", "Connection.execute"),  # BEGIN, COMMIT, NOTIFY sent
        ("shared/http_server.py", "JoinedWrites.flush"),  # the HTTP answer
        ("asyncio/streams.py", "StreamWriter.write"),  # aiokafka's requests
    }
)
OURS = ("services", "shared")


def frame_parts(frame: str) -> tuple[str, str]:
    """`Connection.execute (asyncpg/connection.py:377)` -> (`asyncpg/connection.py`, the name)."""
    name, _, where = frame.rpartition(" (")
    return where.rstrip(")").rpartition(":")[0], name


def owner_of(path: str) -> str:
    """Whose code a file is: ours, the event loop's, or a library's (its top-level package)."""
    top = path.split("/", 1)[0]
    if top in OURS:
        return "ours"
    return "event loop" if top in ("asyncio", "uvloop") else top


def summarise(raw: Path, top: int = 12) -> dict[str, Any]:
    """Samples, the share on socket-writing lines, and, over the other samples, the share of each
    owner of code and the functions most often on top of the stack."""
    leaves: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if stack and samples.isdigit():
            leaves[stack.split(";")[-1]] += int(samples)
    total = sum(leaves.values())
    writes = sum(n for frame, n in leaves.items() if frame_parts(frame) in SOCKET_WRITES)
    rest = {f: n for f, n in leaves.items() if frame_parts(f) not in SOCKET_WRITES}
    owners: collections.Counter[str] = collections.Counter()
    for frame, n in rest.items():
        owners[owner_of(frame_parts(frame)[0])] += n
    left = total - writes or 1
    return {
        "samples": total,
        "socket_writes": round(100 * writes / total, 1) if total else 0.0,
        "owners": {owner: round(100 * n / left, 1) for owner, n in owners.most_common()},
        "top_frames": [
            (f, round(100 * n / left, 1)) for f, n in collections.Counter(rest).most_common(top)
        ],
    }
