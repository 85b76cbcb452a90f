"""The bench's CPU meters: a component's counts what exited children used too (PostgreSQL's
backends end with their connections; their CPU must not vanish from the component's figure),
and the machine's busy share leaves out what was not the machine's own work."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import namedtuple

from bench.cpu import CpuMeter, MachineMeter, busy_share

BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"


def test_cpu_of_a_child_that_exited_during_the_measure_is_counted():
    meter = CpuMeter({"me": os.getpid()})
    meter.start()
    subprocess.run([sys.executable, "-c", BURN], check=True)  # a child that burns and exits
    used = meter.stop(1.0)["me"]
    assert used >= 0.3


Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")


def test_the_machines_busy_share_is_of_the_time_it_had():
    before = Times(100, 0, 50, 800, 10, 1, 2, 0, 0, 0)
    # 3 s of user time, 1 of system, 0.5 of interrupts, 4 idle, 1 waiting on I/O; 7 s stolen by
    # the hypervisor and 2 of guest time (already inside user time) are not counted
    after = Times(103, 0, 51, 804, 11, 1.25, 2.25, 7, 2, 0)
    assert busy_share(before, after) == round(4.5 / 9.5, 2)
    assert busy_share(after, after) == 0.0  # no time passed: nothing to divide


def test_the_machine_meter_sees_a_busy_core():
    meter = MachineMeter()
    subprocess.run([sys.executable, "-c", BURN], check=True)
    assert 0 < meter.busy_share() <= 1
