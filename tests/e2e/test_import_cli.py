"""`ecrm import` against the running stack, as a user runs it: a file larger than one request,
refused rows reported by their line in the file, and a second run that changes nothing."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from ecrm.embedded import PROJECT_ROOT
from ecrm.embedded.stack import inherited_env
from ecrm.importer import PART_ROWS

ROWS = PART_ROWS + 100  # two parts


def _run(stack: Any, path: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "ecrm.cli", "import", str(path), "--legal-basis", "consent"]
    return subprocess.run(
        argv,
        env=inherited_env(stack.settings),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_a_file_of_several_parts_is_imported_once(stack, gateway, admin, tmp_path):
    tag = uuid.uuid4().hex[:8]
    lines = ["Email,First Name,Tags,Consent Email"]
    lines += [f"i{n}.{tag}@example.com,Name {n},imported;{tag},subscribed" for n in range(ROWS)]
    bad_line = PART_ROWS + 50  # in the second part
    lines[bad_line - 1] = f"not-an-address-{tag},Nobody,,"
    path = tmp_path / "customers.csv"
    path.write_text("\n".join(lines) + "\n")

    first = _run(stack, path)
    assert first.returncode == 1, first.stderr
    out = first.stdout.splitlines()
    assert out[0].startswith(f"line {bad_line}: email:"), first.stdout
    assert out[-1] == f"created {ROWS - 1}, updated 0, unchanged 0, refused 1"
    assert "part 2:" in first.stderr

    again = _run(stack, path)
    assert again.stdout.splitlines()[-1] == f"created 0, updated 0, unchanged {ROWS - 1}, refused 1"

    async with httpx.AsyncClient(base_url=gateway, headers=admin, timeout=15) as api:
        found = await api.get("/api/v1/customers", params={"tag": tag, "limit": 500})
        assert len(found.json()["items"]) == 500 and found.json()["next_cursor"]
        last = await api.get(
            "/api/v1/customers", params={"email": f"i{ROWS - 1}.{tag}@example.com"}
        )
        (customer,) = last.json()["items"]
        assert customer["first_name"] == f"Name {ROWS - 1}"
        assert customer["consent_details"]["email"]["source"] == "import"
