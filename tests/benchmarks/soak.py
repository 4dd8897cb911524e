"""Soak: memory and database size over many poll cycles, every feed changing every cycle, retention on.

    .venv/bin/python -m tests.benchmarks.soak [--cycles 1000] [--feeds 200] [--retention-days 30]

One Poller (the app's own) polls the local feed server again and again with a simulated clock that moves
five hours a cycle, as fast as five new items a feed; each cycle every feed publishes five new items and
drops its five oldest, so the database grows until retention deletes as much as arrives. Every 100
cycles it prints the RSS of this process and of the parse workers and the database size; at the end, the
figures at every 100th cycle as a table, the full-text merges retention ran (how many, how long the
longest purge spent on one), and where the database's pages went (dbstat) at the end.

    .venv/bin/python -m tests.benchmarks.soak --merge-cost DB

times the retention's full-text merge on a copy of DB instead (a merge made due by hand, run the way
purges run it: steps of `fts_merge_pages`, `fts_merge_seconds` a purge), then a one-go 'optimize' and
'rebuild' on fresh copies for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
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
class MergeCall:
    cycle: int
    status: str
    seconds: float


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


def _table_sizes(path: Path, top: int = 8) -> list[str]:
    """Where the file's pages went, largest first, and the free pages SQLite will reuse."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0] * page
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    except sqlite3.Error as exc:  # dbstat is a compile-time option
        return [f"(no dbstat: {exc})"]
    finally:
        conn.close()
    out = [f"{name} {size / 1e6:.1f} MB" for name, size in rows[:top]]
    rest = sum(size for _, size in rows[top:])
    return [*out, f"{len(rows) - top} others {rest / 1e6:.1f} MB", f"free pages {free / 1e6:.1f} MB"]


async def soak(work: Path, cycles: int, feeds: int, items: int, retention_days: int,
               merges: list[MergeCall]) -> list[Sample]:  # fmt: skip
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
        maintain, cycle_now = store.maintain_fts, [0]

        def timed_maintain(*, seconds: float | None = None) -> str | None:
            began = time.perf_counter()
            status = maintain(seconds=seconds)
            if status is not None:
                merges.append(MergeCall(cycle_now[0], status, time.perf_counter() - began))
            return status

        store.maintain_fts = timed_maintain  # type: ignore[method-assign]
        poller = Poller(config, store, clock=lambda: clock_now[0])
        began = time.perf_counter()
        try:
            for cycle in range(1, cycles + 1):
                cycle_now[0] = cycle
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
    parser.add_argument("--merge-cost", type=Path, metavar="DB",
                        help="time the retention's full-text merge on a copy of DB, and nothing else")  # fmt: skip
    parser.add_argument("--no-history", action="store_true",
                        help="skip the per-cycle negotiation history step (times the poll path alone)")  # fmt: skip
    args = parser.parse_args()
    if args.merge_cost is not None:
        merge_cost(args.merge_cost)
        return
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
    merges: list[MergeCall] = []
    try:
        samples = asyncio.run(soak(work, args.cycles, args.feeds, args.items, args.retention_days, merges))
        sizes = _table_sizes(work / "soak.db")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    last = samples[-1]
    print("\n| cycle | polling process RSS | parse workers RSS (both) | database (file + WAL) | items kept |")
    print("|---|---|---|---|---|")
    for s in samples:
        print(
            f"| {s.cycle:,} | {s.main_rss:.1f} MB | {s.workers_rss:.1f} MB | {s.db_mb:.1f} MB | {s.items:,} |"
        )
    print(f"(pid {os.getpid()}; {last.seconds / last.cycle:.2f} s a cycle)")
    rounds = [m for m in merges if m.status != "merging"]
    if merges:
        longest = max(merges, key=lambda m: m.seconds)
        print(f"full-text merges: {len(rounds)} finished ({sum(m.status == 'rebuilt' for m in rounds)} rebuilds) in "
              f"{len(merges)} purges, {sum(m.seconds for m in merges):.1f} s in all, longest purge's share "
              f"{longest.seconds:.2f} s (cycle {longest.cycle}); finished at cycles "
              f"{', '.join(str(m.cycle) for m in rounds)}")  # fmt: skip
    else:
        print("full-text merges: none")
    print("database at the end: " + "; ".join(sizes))


def _fts_mb(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        size = conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'items_fts_data'").fetchone()[0]
    except sqlite3.Error:
        size = conn.execute("SELECT sum(length(block)) FROM items_fts_data").fetchone()[0]
    finally:
        conn.close()
    return f"{(size or 0) / 1e6:.1f} MB"


def _copy_db(source: Path, target: Path) -> None:
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
        else:
            Path(f"{target}{suffix}").unlink(missing_ok=True)
    Path(f"{target}-shm").unlink(missing_ok=True)


def merge_cost(source: Path) -> None:
    """Time the retention's full-text merge, and one-go optimize and rebuild, on copies of `source`."""
    from monitor.store import Store
    from monitor.store.retention import META_DELETED, fts_levels

    print_machine()
    with tempfile.TemporaryDirectory(prefix="sitmon-merge-") as tmp:
        copy = Path(tmp) / "merge.db"
        _copy_db(source, copy)
        store = Store(copy)
        try:
            items = store.count_items()
            before = _fts_mb(copy)
            store.set_meta(META_DELETED, str(items))  # as if retention had deleted a whole window
            calls: list[tuple[float, float]] = []  # (seconds of the purge's merge, longest step in it)
            steps: list[float] = []
            step = store._merge_step

            def timed_step() -> bool:
                began = time.perf_counter()
                try:
                    return step()
                finally:
                    steps.append(time.perf_counter() - began)

            store._merge_step = timed_step  # type: ignore[method-assign]
            began = time.perf_counter()
            status = "merging"
            while status == "merging":
                first, call = len(steps), time.perf_counter()
                status = store.maintain_fts() or "nothing due"
                calls.append((time.perf_counter() - call, max(steps[first:], default=0.0)))
            total = time.perf_counter() - began
            levels = fts_levels(store.conn)
        finally:
            store.close()
        after = _fts_mb(copy)
        print(f"{source.name}: {items:,} items; incremental merge ({Store.fts_merge_pages} pages a step, "
              f"{Store.fts_merge_seconds:g} s a purge): {status} in {len(calls)} purges, {len(steps) + 1} "
              f"transactions, {total:.1f} s in all; longest purge {max(c[0] for c in calls):.2f} s, longest "
              f"step {max(steps, default=0.0):.2f} s; index (items_fts_data) {before} -> {after}, {levels} levels")  # fmt: skip
        for command in ("optimize", "rebuild"):
            _copy_db(source, copy)
            conn = sqlite3.connect(copy, isolation_level=None)
            try:
                began = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(f"INSERT INTO items_fts (items_fts) VALUES ('{command}')")
                conn.execute("COMMIT")
                took = time.perf_counter() - began
            finally:
                conn.close()
            print(f"  one-go '{command}': one transaction of {took:.1f} s; index {before} -> {_fts_mb(copy)}")


if __name__ == "__main__":
    main()
