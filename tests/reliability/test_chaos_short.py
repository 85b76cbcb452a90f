"""The short chaos run of `make test`: a fresh stack, load on every channel, 5 seeded faults;
nothing accepted lost, nothing applied twice, every invariant holding."""

from __future__ import annotations

import json
import sys

from tests.reliability import chaos


def test_short_chaos_run_loses_nothing_and_applies_nothing_twice() -> None:
    result = chaos.run(["--seed", "11", "--faults", "5", "--duration", "20", "--settle", "40"])
    # the whole report, shown with a failure: the violations alone do not say which fault
    # landed when, how long settling took or what the dead-letter topics hold
    print(json.dumps(result, indent=1, default=str), file=sys.stderr)

    assert result["faults_injected"] == 5, result
    assert result["accepted"] > 0, result
    assert result["lost"] == 0, result["violations"]
    assert result["duplicated"] == 0, result["violations"]
    assert result["violations"] == [], result["violations"]
