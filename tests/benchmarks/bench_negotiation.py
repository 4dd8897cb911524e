"""Negotiation status at scale: compute_statuses, record_daily_history and the panel refresh on big databases.

    .venv/bin/python -m tests.benchmarks.bench_negotiation [--sizes 100000,1000000] [--repeat 5]

Every run works on COPIES of the databases bench_scale builds (cached under $SITMON_BENCH_CACHE); the
cached originals are never opened for writing. Each column comes from a fresh process:

- first compute / first history: the first compute_statuses on a copy, which pays the one-off cost of
  reading the window's items (the first-run backfill), then record_daily_history (30 days of history);
- history alone: record_daily_history on another fresh copy, as when the poller runs before any panel;
- warm compute / warm history: the same calls again in the same process (medians);
- panel refresh: what the status panel's worker does (StatusEngine.compute plus the 30-day strip);
- poll: 40 new tracked items stored, the ingest hook (when the engine has one), the history the
  poller records after the cycle, and the panel refresh that follows;
- cli compute: compute_statuses in a new process once the copy has been read (`sitmon status`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.benchmarks.common import PYTHON, REPO, peak_rss_mb, print_machine

NEW_ITEMS = 40


def _clock(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _median(fn: Callable[[], object], repeat: int) -> float:
    return statistics.median(_clock(fn)[0] for _ in range(max(1, repeat)))


def child_history(path: Path, repeat: int) -> dict[str, Any]:
    """record_daily_history first on a fresh copy (no status computed yet)."""
    from monitor.config import load_config
    from monitor.negotiation.engine import record_daily_history
    from monitor.store import Store
    from tests.benchmarks.bench_scale import bench_now

    now = bench_now(path)
    config = load_config(None)
    store = Store(path)
    out: dict[str, Any] = {}
    out["history alone"], out["history alone cpu"] = _clock(lambda: record_daily_history(store, config, now))
    store.close()
    return out


def child_cli(path: Path, repeat: int) -> dict[str, Any]:
    """One compute_statuses in a new process, on a copy whose items have been read."""
    from monitor.config import load_config
    from monitor.negotiation.engine import compute_statuses
    from monitor.store import Store
    from tests.benchmarks.bench_scale import bench_now

    now = bench_now(path)
    config = load_config(None)
    store = Store(path)
    out = {"cli compute": _clock(lambda: compute_statuses(store, config, now))[0]}
    store.close()
    return out


CHILDREN = {"all": None, "history": child_history, "cli": child_cli}


def child(path: Path, repeat: int) -> dict[str, Any]:
    """Everything measured on one database copy; runs in its own process."""
    from monitor.config import load_config
    from monitor.models import CleanEntry, FeedState, FeedStatus
    from monitor.negotiation import engine
    from monitor.negotiation.engine import StatusEngine, compute_statuses, record_daily_history
    from monitor.store import Store
    from monitor.tagging import Tagger
    from monitor.tui.widgets.status_panel import StatusPanel
    from tests.benchmarks.bench_scale import bench_now

    out: dict[str, Any] = {}
    now = bench_now(path)
    config = load_config(None)
    wall = time.perf_counter()
    store = Store(path)
    out["open"] = time.perf_counter() - wall
    out["first compute"], out["first compute cpu"] = _clock(lambda: compute_statuses(store, config, now))
    out["first history"], out["first history cpu"] = _clock(lambda: record_daily_history(store, config, now))
    out["warm compute"] = _median(lambda: compute_statuses(store, config, now), repeat)
    out["warm history"] = _median(lambda: record_daily_history(store, config, now), repeat)

    panel = SimpleNamespace(
        store=store, config=config, tz=config.settings.tz, track_ids=[t.id for t in config.tracks]
    )

    def refresh(moment: Any) -> None:
        status_engine = StatusEngine(store, config)
        statuses = status_engine.compute(moment)
        StatusPanel._strips(panel, moment, statuses, status_engine)  # type: ignore[arg-type]

    out["panel refresh"] = _median(lambda: refresh(now), repeat)

    # One poll: recent tracked items come back under new ids (so they are new), a few minutes later.
    later = now + timedelta(minutes=5)
    recent = store.query_items(track=config.track_ids[0], limit=NEW_ITEMS)
    tagger = Tagger(config.tracks)
    entries = [
        CleanEntry(
            id=f"bench-new-{i}",
            guid=f"bench-new-{i}",
            link=f"https://bench.example/{i}",
            title=item.title,
            summary=item.summary,
            published=later - timedelta(seconds=i),
            date_estimated=False,
        )
        for i, item in enumerate(recent)
    ]
    tags = {e.id: m for e in entries if (m := tagger.tag(e.title, e.summary))}
    state = FeedState(url="http://feeds.example/0", title="Example News 0", status=FeedStatus.OK)
    saved = store.save_poll(replace(state), entries=entries, tags=tags, source="Bench Wire", now=later)
    hook = getattr(engine, "analyse_new_items", None)
    out["poll: hook"] = _clock(lambda: hook(store, config, saved.new_ids))[0] if hook else None
    out["poll: history"] = _clock(lambda: record_daily_history(store, config, later))[0]
    out["poll: panel refresh"] = _clock(lambda: refresh(later))[0]
    out["peak rss mb"] = peak_rss_mb()
    store.close()
    return out


def _in_child(mode: str, path: Path, repeat: int) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, "-m", "tests.benchmarks.bench_negotiation", "--child", str(path), "--mode", mode,
         "--repeat", str(repeat)],
        cwd=os.environ.get("SITMON_BENCH_REPO", REPO),
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _cached(size: int) -> Path:
    """The cached database of this size, built if missing. A built one is only checked read-only:
    opening it through Store would migrate the shared original."""
    from tests.benchmarks.bench_scale import build, db_path

    path = db_path(size)
    if path.exists():
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'bench_built'").fetchone()
        if row is not None and row[0] == "ok":
            return path
    return build(size, _bench_epoch())


def _fresh_copy(original: Path, copy: Path) -> None:
    """A consistent copy (SQLite's backup, so a writer's WAL is included) as an upgraded database
    that has never computed a status: no stored readings, no history."""
    with (
        contextlib.closing(sqlite3.connect(f"file:{original}?mode=ro", uri=True)) as source,
        contextlib.closing(sqlite3.connect(copy)) as target,
    ):
        source.backup(target)
        tables = {name for (name,) in target.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table in ("negotiation_signals", "negotiation_pending", "status_history"):
            if table in tables:
                target.execute(f"DELETE FROM {table}")
        target.execute("DELETE FROM meta WHERE key = 'negotiation_lexicon'")
        target.commit()


def run(size: int, repeat: int, keep: bool) -> dict[str, Any]:
    original = _cached(size)
    folder = Path(tempfile.mkdtemp(prefix="sitmon-negbench-"))
    try:
        copy = folder / original.name
        _fresh_copy(original, copy)
        out = _in_child("all", copy, repeat)
        out.update(_in_child("cli", copy, repeat))
        # A second fresh copy: history recorded before anything else has read the items.
        other = folder / f"history-{original.name}"
        _fresh_copy(original, other)
        out.update(_in_child("history", other, repeat))
        return out
    finally:
        if keep:
            print(f"  kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _bench_epoch() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC).replace(microsecond=0)


def _cell(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database copies")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=sorted(CHILDREN), default="all", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure = CHILDREN[args.mode] or child
        print(json.dumps(measure(args.child, args.repeat)))
        return
    print_machine()
    rows = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        print(f"  {size:,} items ...", flush=True)
        rows[size] = run(size, args.repeat, args.keep)
        print("  " + json.dumps(rows[size]), flush=True)
    keys = [k for k in next(iter(rows.values())) if k != "peak rss mb"]
    print("\n| items | " + " | ".join(keys) + " | peak RSS |")
    print("|---" * (len(keys) + 2) + "|")
    for size, row in rows.items():
        cells = " | ".join(_cell(row[k]) for k in keys)
        print(f"| {size:,} | {cells} | {row['peak rss mb']:.0f} MB |")


if __name__ == "__main__":
    main()
