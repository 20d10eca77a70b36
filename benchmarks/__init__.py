"""Benchmarks: ``python -m benchmarks`` prints every figure with its ratio to the named peer."""
