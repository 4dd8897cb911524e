"""Soak: memory and database size over many poll cycles, every feed changing every cycle, retention on.

    .venv/bin/python -m tests.benchmarks.soak [--cycles 1000] [--feeds 200] [--retention-days 30]

One Poller (the app's own) polls the local feed server again and again with a simulated clock that moves
five hours a cycle, as fast as five new items a feed; each cycle every feed publishes five new items and
drops its five oldest, so the database grows until retention deletes as much as arrives. Every 100
cycles it prints the RSS of this process and of the parse workers and the database size; at the end, the
figures at cycle 100 and at the last cycle side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.benchmarks import feedgen
from tests.benchmarks.common import feed_server, print_machine, rss_mb

GAP_MINUTES = 60
"""Minutes between two items of a feed; the clock moves `shift` gaps a cycle, in step with the feeds."""


@dataclass
class Sample:
    cycle: int
    main_rss: float
    workers_rss: float
    db_mb: float
    items: int
    seconds: float


def _workers_rss(pool: object) -> float:
    total = 0.0
    executor = getattr(pool, "_pool", None)
    for process in list(getattr(executor, "_processes", {}).values()):
        try:
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024 * 1.048576
        except OSError:
            continue
    return total


def _db_mb(path: Path) -> float:
    return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists()) / 1e6


async def soak(work: Path, cycles: int, feeds: int, items: int, retention_days: int) -> list[Sample]:
    from monitor.config import build_config, default_tables
    from monitor.poller import Poller
    from monitor.store import Store

    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
    specs = [replace(s, gap_minutes=GAP_MINUTES) for s in feedgen.specs(feeds, items)]
    feeds_dir = work / "feeds"
    feedgen.write_feeds(feeds_dir, specs, anchor=start)
    clock_now = [start]
    samples: list[Sample] = []
    with feed_server(feeds_dir, ports=min(40, feeds)) as server:
        user = {
            "settings": {"retention_days": retention_days},
            "feeds": [{"url": server.url(s.index, s.name), "title": ""} for s in specs],
        }
        config = build_config([*default_tables(), ("<soak>", user)])
        db = work / "soak.db"
        store = Store(db)
        poller = Poller(config, store, clock=lambda: clock_now[0])
        began = time.perf_counter()
        try:
            for cycle in range(1, cycles + 1):
                report = await poller.poll_once(force=True)
                if report.failing:
                    bad = next(f for f in report.feeds if f.error)
                    raise SystemExit(f"cycle {cycle}: {report.failing} feeds failed, e.g. {bad.error}")
                if cycle % 100 == 0 or cycle == cycles:
                    sample = Sample(cycle, rss_mb(), _workers_rss(poller.pool), _db_mb(db), store.count_items(),
                                    time.perf_counter() - began)  # fmt: skip
                    samples.append(sample)
                    print(f"  cycle {cycle:5d}: main RSS {sample.main_rss:6.1f} MB, workers RSS "
                          f"{sample.workers_rss:6.1f} MB, DB {sample.db_mb:7.1f} MB, {sample.items:,} items, "
                          f"{sample.seconds:.0f} s", flush=True)  # fmt: skip
                # Every feed moves on by one generation; the clock keeps pace with the newest items.
                specs = [replace(s, generation=s.generation + 1) for s in specs]
                feedgen.write_feeds(feeds_dir, specs, anchor=start)
                clock_now[0] += timedelta(minutes=GAP_MINUTES * specs[0].shift)
        finally:
            poller.close()
            store.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--retention-days", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="work in this folder and leave it behind")
    parser.add_argument("--no-history", action="store_true",
                        help="skip the per-cycle negotiation history step (times the poll path alone)")  # fmt: skip
    args = parser.parse_args()
    if not 1 <= args.cycles <= 100_000:
        parser.error("--cycles must be 1..100000")
    if args.no_history:
        import monitor.poller

        monitor.poller.record_daily_history = lambda *a, **k: []  # type: ignore[attr-defined,assignment]
    print_machine()
    print(f"soak: {args.cycles} cycles, {args.feeds} feeds x {args.items} items, every feed +5 items a cycle, "
          f"retention {args.retention_days} days, clock +{GAP_MINUTES * 5 // 60} h a cycle")  # fmt: skip
    work = args.keep or Path(tempfile.mkdtemp(prefix="sitmon-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        samples = asyncio.run(soak(work, args.cycles, args.feeds, args.items, args.retention_days))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    first = next((s for s in samples if s.cycle == 100), samples[0])
    last = samples[-1]
    print("\n| cycle | main RSS | parse workers RSS | database | items kept |")
    print("|---|---|---|---|---|")
    for s in (first, last) if first is not last else (first,):
        print(
            f"| {s.cycle} | {s.main_rss:.1f} MB | {s.workers_rss:.1f} MB | {s.db_mb:.1f} MB | {s.items:,} |"
        )
    print(f"(pid {os.getpid()}; {last.seconds / last.cycle:.2f} s a cycle)")


if __name__ == "__main__":
    main()
