"""Debian packages some tools need (wrk for the benchmark, Chromium for the browser tests).

`ensure_program(names, package)` returns the path of an installed program; when none is found
and the process runs as root with apt-get, it installs the package first (as CI does). Returns
None when it cannot be had.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence


def find_program(names: Sequence[str]) -> str | None:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_program(names: Sequence[str], package: str, timeout_s: float = 900) -> str | None:
    found = find_program(names)
    if found or not can_install():
        return found
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", package],
    ):
        try:
            subprocess.run(argv, check=True, env=env, timeout=timeout_s,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        except (subprocess.SubprocessError, OSError):
            return None
    return find_program(names)


def can_install() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None
