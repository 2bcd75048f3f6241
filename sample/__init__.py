"""Deterministic sample Counterpoint database and ItemImages folder for tests, demo and benchmarks.

Use `from sample.generate import generate, SampleInfo` (not re-exported here, so that the name
`sample.generate` keeps meaning the module); CLI: `python -m sample --help`.
"""
