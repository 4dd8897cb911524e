"""Poll cycle, sitmon against newsboat on the same local feeds in one run: cold, warm (all 304), 10% changed.

    .venv/bin/python -m tests.benchmarks.bench_poll [--feeds 200] [--items 50] [--runs 5]

Each figure is the median wall time of a whole process (interpreter or binary start included), runs of
the two readers alternating so drift in the machine hits both. newsboat gets its own config and cache
in a temporary folder with `reload-threads` set to sitmon's `concurrency`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.benchmarks import feedgen
from tests.benchmarks.common import (
    NEWSBOAT_MISSING,
    PYTHON,
    REPO,
    SITMON,
    FeedServer,
    Timed,
    feed_server,
    median,
    print_machine,
    run_timed,
)

TARGETS = {"cold": 0.5, "warm": 0.6, "changed": 0.6}
"""sitmon/newsboat ratio each scenario must stay at or under (issue 7; `changed` held to the warm target)."""


@dataclass
class Reader:
    """One feed reader under test: how to run it, and how to empty its cache."""

    name: str
    command: list[str]
    env: dict[str, str]
    reset: Callable[[], None]
    count_items: Callable[[], int]
    times: dict[str, list[Timed]] = field(default_factory=dict)

    def run(self, scenario: str, server: FeedServer, expect: dict[str, int]) -> Timed:
        server.stats()  # reset the counters
        result = run_timed(self.command, env=self.env)
        counts = server.stats()
        if result.returncode != 0:
            raise SystemExit(f"{self.name} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        for status, wanted in expect.items():
            if counts.get(status, 0) != wanted:
                raise SystemExit(
                    f"{self.name} {scenario}: expected {wanted} x HTTP {status}, server saw {counts}"
                )
        self.times.setdefault(scenario, []).append(result)
        return result


def sitmon_reader(work: Path, urls: list[str], concurrency: int, *, skip: str = "") -> Reader:
    """`sitmon poll --once --force`; `skip` names steps the benchmark launcher switches off."""
    config = work / "sitmon.toml"
    lines = ["[settings]", f"concurrency = {concurrency}", ""]
    for url in urls:
        lines += ["[[feeds]]", f'url = "{url}"', ""]
    config.write_text("\n".join(lines))
    name = {"": "sitmon", "history": "sitmon-nohist", "history,analysis": "sitmon-store"}[skip]
    db = work / f"{name}.db"

    def reset() -> None:
        for suffix in ("", "-wal", "-shm", ".poll-lock"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)

    def count() -> int:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])

    env = {**os.environ, "HOME": str(work / "home"), "PYTHONPATH": str(REPO), "SITMON_BENCH_SKIP": skip}
    launcher = [PYTHON, "-m", "tests.benchmarks.sitmon_no_history"] if skip else SITMON
    command = [*launcher, "--config", str(config), "--db", str(db), "poll", "--once", "--force", "--quiet"]
    return Reader(name, command, env, reset, count)


def newsboat_reader(work: Path, urls: list[str], concurrency: int) -> Reader | None:
    exe = shutil.which("newsboat")
    if exe is None:
        return None
    home = work / "nb-home"
    home.mkdir(exist_ok=True)
    (work / "nb-urls").write_text("\n".join(urls) + "\n")
    (work / "nb-config").write_text(f"reload-threads {concurrency}\n")
    cache = work / "nb-cache.db"

    def reset() -> None:
        for suffix in ("", ".lock", "-journal", "-wal", "-shm"):
            Path(f"{cache}{suffix}").unlink(missing_ok=True)

    def count() -> int:
        with sqlite3.connect(cache) as conn:
            return int(conn.execute("SELECT count(*) FROM rss_item").fetchone()[0])

    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local/share")}  # fmt: skip
    command = [
        exe,
        "-x",
        "reload",
        "-C",
        str(work / "nb-config"),
        "-u",
        str(work / "nb-urls"),
        "-c",
        str(cache),
    ]
    return Reader("newsboat", command, env, reset, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per reader and scenario")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="sitmon concurrency = newsboat reload-threads"
    )
    parser.add_argument("--ports", type=int, default=40, help="server ports, standing in for hosts")
    parser.add_argument("--latency", type=float, default=0.0, help="server latency per response, seconds")
    parser.add_argument("--gzip", action="store_true", help="serve gzip to clients that ask for it")
    parser.add_argument("--only", choices=("sitmon", "newsboat"), help="run one reader only")
    parser.add_argument("--scenarios", default="cold,warm,changed")
    parser.add_argument("--keep", type=Path, help="work in this folder and leave it behind")
    parser.add_argument("--no-history", action="store_true",
                        help="add a sitmon column without the per-cycle negotiation history step")  # fmt: skip
    parser.add_argument("--store-only", action="store_true",
                        help="add a sitmon column doing what newsboat does: fetch, parse, tag, store "
                             "(no story clustering, negotiation reading or history)")  # fmt: skip
    parser.add_argument("--no-full", action="store_true", help="leave out the whole `sitmon poll` column")
    args = parser.parse_args()
    if not 1 <= args.runs <= 100:
        parser.error("--runs must be 1..100")

    print_machine()
    work = args.keep or Path(tempfile.mkdtemp(prefix="sitmon-bench-poll-"))
    work.mkdir(parents=True, exist_ok=True)
    feeds_dir = work / "feeds"
    # Two days back: new generations publish after the anchor and must not land in the future.
    anchor = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=2)
    specs = feedgen.specs(args.feeds, args.items)
    size = feedgen.write_feeds(feeds_dir, specs, anchor=anchor)
    print(f"{args.feeds} feeds x {args.items} items, {size / 1e6:.1f} MB, {args.ports} ports on 127.0.0.1, "
          f"latency {args.latency * 1000:g} ms, gzip {'on' if args.gzip else 'off'}, concurrency {args.concurrency}")  # fmt: skip
    try:
        with feed_server(feeds_dir, ports=args.ports, latency=args.latency, gzip=args.gzip) as server:
            urls = [server.url(spec.index, spec.name) for spec in specs]
            readers: list[Reader] = []
            if args.only != "newsboat":
                if not args.no_full:
                    readers.append(sitmon_reader(work, urls, args.concurrency))
                if args.no_history:
                    readers.append(sitmon_reader(work, urls, args.concurrency, skip="history"))
                if args.store_only:
                    readers.append(sitmon_reader(work, urls, args.concurrency, skip="history,analysis"))
            if args.only != "sitmon":
                nb = newsboat_reader(work, urls, args.concurrency)
                if nb is None:
                    print(NEWSBOAT_MISSING)
                else:
                    readers.append(nb)
            scenarios = args.scenarios.split(",")
            n = args.feeds
            expected_items = n * args.items
            round_ = 0
            for scenario in ("cold", "warm", "changed"):
                if scenario not in scenarios and not (scenario == "cold" and set(scenarios) - {"cold"}):
                    continue
                timed = scenario in scenarios
                runs = args.runs if timed else 1
                for r in range(runs):
                    if scenario == "changed":
                        round_ += 1
                        bumped = []
                        for index in feedgen.changed(n, round_):
                            specs[index] = replace(specs[index], generation=specs[index].generation + 1)
                            bumped.append(specs[index])
                        feedgen.write_feeds(feeds_dir, bumped, anchor=anchor)
                        expected_items += sum(spec.shift for spec in bumped)
                        expect = {"200": len(bumped), "304": n - len(bumped)}
                    elif scenario == "cold":
                        expect = {"200": n}
                    else:
                        expect = {"304": n}
                    if scenario == "warm" and r == 0:
                        # newsboat records validators only for feeds already in its cache, so its first
                        # reload after a cold one is unconditional: prime both readers once, untimed.
                        for reader in readers:
                            reader.run("prime", server, {})
                    order = readers if r % 2 == 0 else readers[::-1]
                    for reader in order:
                        if scenario == "cold":
                            reader.reset()
                        result = reader.run(scenario, server, expect)
                        items = reader.count_items()
                        if items != expected_items:
                            raise SystemExit(
                                f"{reader.name} {scenario}: {items} items stored, {expected_items} expected"
                            )
                        if timed:
                            print(f"  {scenario:<8} run {r + 1}/{runs} {reader.name:<9} {result.wall:6.3f} s wall "
                                  f"{result.cpu:6.3f} s cpu")  # fmt: skip
                    if not timed:
                        for reader in readers:
                            reader.times.pop(scenario, None)
            report(readers, scenarios)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def report(readers: list[Reader], scenarios: list[str]) -> None:
    """One row per scenario: each reader's median wall time (median CPU), and each sitmon's ratio."""
    nb = next((r for r in readers if r.name == "newsboat"), None)
    sitmons = [r for r in readers if r is not nb]
    print()
    head = [f"{r.name} wall (cpu*)" for r in readers] + [f"{r.name}/newsboat" for r in sitmons if nb]
    print("| scenario | " + " | ".join(head) + " | target |")
    print("|---|" + "---|" * (len(head) + 1))
    for scenario in scenarios:
        walls: dict[str, float] = {}
        cells = []
        for reader in readers:
            runs = reader.times.get(scenario, [])
            if not runs:
                cells.append("-")
                continue
            walls[reader.name] = median([t.wall for t in runs])
            cells.append(f"{walls[reader.name]:.3f} s ({median([t.cpu for t in runs]):.2f} s)")
        target = TARGETS.get(scenario)
        if nb is not None:
            for reader in sitmons:
                if reader.name in walls and nb.name in walls:
                    ratio = walls[reader.name] / walls[nb.name]
                    met = target is not None and ratio <= target
                    cells.append(f"{ratio:.2f} {'met' if met else 'MISSED'}")
                else:
                    cells.append("-")
        print(f"| {scenario} | " + " | ".join(cells) + f" | <= {target} |")
    print("* cpu: user+sys of the process and the children it waited for; sitmon's parse workers are "
          "children of the fork server, so their CPU is not in sitmon's figure.")  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
