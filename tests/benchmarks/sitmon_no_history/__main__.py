"""`sitmon` with per-cycle steps switched off, to time the poll path on its own.

Benchmark-only: `bench_poll --no-history` and `--store-only` run this instead of `python -m monitor` so
the report can show how much of a cycle is fetch + parse + tag + store (what `newsboat -x reload` does)
and how much the analysis after it costs. `SITMON_BENCH_SKIP` names the steps to skip, comma-separated:
`history` (`record_daily_history`) and `analysis` (the ingest hooks: story clustering and negotiation
reading of new items). It is a package's `__main__` on purpose: multiprocessing re-runs any other `-m`
main module in every parse worker.
"""

from __future__ import annotations

import os
import sys

import monitor.ingest_hooks
import monitor.poller
from monitor.cli import main


def _skip_history(*args: object, **kwargs: object) -> list[object]:
    return []


def _poller_without_analysis(config, store, **kwargs):  # type: ignore[no-untyped-def]
    return monitor.poller.Poller(config, store, **kwargs)


if __name__ == "__main__":
    skip = set(os.environ.get("SITMON_BENCH_SKIP", "history").split(","))
    if "history" in skip:
        monitor.poller.record_daily_history = _skip_history  # type: ignore[attr-defined,assignment]
    if "analysis" in skip:
        monitor.ingest_hooks.make_poller = _poller_without_analysis  # type: ignore[assignment]
    sys.exit(main())
