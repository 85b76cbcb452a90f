"""The bench's CPU meter counts what exited children used too (PostgreSQL's backends end with
their connections; their CPU must not vanish from the component's figure)."""

from __future__ import annotations

import os
import subprocess
import sys

from bench.cpu import CpuMeter

BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"


def test_cpu_of_a_child_that_exited_during_the_measure_is_counted():
    meter = CpuMeter({"me": os.getpid()})
    meter.start()
    subprocess.run([sys.executable, "-c", BURN], check=True)  # a child that burns and exits
    used = meter.stop(1.0)["me"]
    assert used >= 0.3
