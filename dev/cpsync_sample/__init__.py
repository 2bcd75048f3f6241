"""Deterministic sample Counterpoint database and ItemImages folder for tests, demo and benchmarks.

Use `from cpsync_sample.generate import generate, SampleInfo` (not re-exported here, so that the
name `cpsync_sample.generate` keeps meaning the module); CLI: `python -m cpsync_sample --help`.
"""
