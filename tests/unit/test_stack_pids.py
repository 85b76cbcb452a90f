"""The pids of a stack's children are read from its pid files; a child that crashes removes its
file, and one removed between the listing and the read is left out, not an error."""

from __future__ import annotations

from pathlib import Path

from ecrm.embedded.stack import EmbeddedStack
from shared.settings import Settings


def test_a_pid_file_removed_while_reading_is_left_out(tmp_path: Path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "contacts.pid").write_text("4242\n")
    (run / "support.pid").symlink_to(run / "gone")  # listed, but reading it finds no file
    stack = EmbeddedStack(Settings(home=tmp_path))
    assert stack.pids() == {"contacts": 4242}
