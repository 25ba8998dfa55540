"""Benchmarks: a workload generator and a runner (`make bench`). Not part of the package or of `make test`."""
