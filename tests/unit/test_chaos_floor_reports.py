"""The chaos report counts the relay's reports of rows found below its floor: each one, though
published in the end, is a failure of the floor's proof."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.invariants_delivery import floor_passed_unpublished


def test_each_report_of_a_row_below_the_floor_is_counted(tmp_path: Path):
    report = {"row": 921, "lowered_to": 920, "event": "relay.unpublished_below_floor",
              "service": "contacts", "level": "error"}  # fmt: skip
    elected = {"event": "relay.elected", "service": "contacts", "level": "info"}
    log = tmp_path / "contacts.log"
    log.write_text("\n".join(json.dumps(e) for e in (elected, report, report)) + "\n")
    assert floor_passed_unpublished(log) == 2
    assert floor_passed_unpublished(tmp_path / "sales.log") == 0
