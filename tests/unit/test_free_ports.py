"""Ports for the stacks and test servers come from below the kernel's ephemeral range, where no
outgoing connection can take one before its server binds it, and never twice from a process."""

from __future__ import annotations

from ecrm.ports import HIGHEST, LOWEST, free_port, free_port_block, port_is_free


def test_free_ports_are_below_the_ephemeral_range_and_never_handed_out_twice():
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        ephemeral_low = int(f.read().split()[0])
    ports = [free_port() for _ in range(50)]
    block = free_port_block(8)
    taken = [*ports, *range(block, block + 8)]
    assert len(set(taken)) == len(taken)
    assert all(LOWEST <= p < HIGHEST < ephemeral_low for p in taken)
    assert all(port_is_free(p) for p in taken)
