"""`sitmon` with the per-cycle negotiation history step switched off, to time the poll path on its own.

Benchmark-only: `bench_poll --no-history` runs this instead of `python -m monitor` so the report can show
how much of a cycle is fetch + parse + store and how much is `record_daily_history`. It is a package's
`__main__` on purpose: multiprocessing re-runs any other `-m` main module in every parse worker.
"""

from __future__ import annotations

import sys

import monitor.poller
from monitor.cli import main


def _skip_history(*args: object, **kwargs: object) -> list[object]:
    return []


if __name__ == "__main__":
    monitor.poller.record_daily_history = _skip_history  # type: ignore[attr-defined,assignment]
    sys.exit(main())
