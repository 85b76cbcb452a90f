"""Test helpers that talk to real servers: infrastructure, service processes, the event log."""
