"""The benchmark harness behind `make bench` / `ecrm bench`."""
