"""A headless Chromium for the browser tests: Debian's `chromium` package.

`ensure_chromium()` returns the path of an installed Chromium; when none is found and the process
runs as root, it installs the package with apt-get first (as CI does). Returns None when it
cannot be had (not root, no apt-get, or the install failed).
"""

from __future__ import annotations

import os
import shutil

from ecrm.syspkg import ensure_program

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
APT_PACKAGE = "chromium"
HEADLESS_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def find_chromium() -> str | None:
    override = os.environ.get("ECRM_CHROMIUM")
    if override and os.access(override, os.X_OK):
        return override
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_chromium(timeout_s: float = 900) -> str | None:
    found = find_chromium()
    if found:
        return found
    return ensure_program(CANDIDATES, APT_PACKAGE, timeout_s)


if __name__ == "__main__":
    path = ensure_chromium()
    print(path or "chromium is not available")
    raise SystemExit(0 if path else 1)
