"""The fault-injection suite (`make chaos`): load through the public edges, faults, invariants."""
