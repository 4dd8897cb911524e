"""Launcher package for `python -m tests.benchmarks.sitmon_no_history` (see its __main__)."""
