"""Parser choice and ingest rate: the same generated feeds through each parser, and items per second through
parse + clean + tag + store.

    .venv/bin/python -m tests.benchmarks.bench_ingest [--feeds 200] [--items 50] [--runs 3]

Parsers are timed on the same bytes in one process, then across two worker processes. Ingest runs the
app's own pieces: the ParsePool workers and the poller's batched store writes, into a fresh database.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.benchmarks import feedgen
from tests.benchmarks.common import median, print_machine

_BODIES: list[bytes] = []
REPO_SHARED = Path(__file__).resolve().parents[3] / "shared"
"""The hand-collected real feeds beside the repository, when present (never copied into it)."""


def _lxml_raw(body: bytes) -> int:
    from lxml import etree

    return len(etree.fromstring(body))


def _fast_path(body: bytes) -> int:
    from monitor.parse import parse_feed

    return len(parse_feed(body).entries)


def _feedparser_as_fallback(body: bytes) -> int:
    from monitor.parse import parse_with_feedparser

    return len(parse_with_feedparser(body, prepare=False).entries)


def _feedparser_defaults(body: bytes) -> int:
    import feedparser

    return len(feedparser.parse(io.BytesIO(body)).entries)


def _fastfeedparser(body: bytes) -> int:
    import fastfeedparser  # type: ignore[import-not-found]

    return len(fastfeedparser.parse(body).entries)


PARSERS: dict[str, Callable[[bytes], int]] = {
    "lxml: etree.fromstring only (no extraction)": _lxml_raw,
    "sitmon parse_feed (lxml fast path, as shipped)": _fast_path,
    "feedparser as our fallback runs it (no sanitiser, no URI resolution)": _feedparser_as_fallback,
    "feedparser defaults (sanitiser + relative-URI resolution)": _feedparser_defaults,
    "fastfeedparser (only if installed)": _fastfeedparser,
}


def _chunk(args: tuple[str, list[bytes]]) -> int:
    name, bodies = args
    fn = PARSERS[name]
    return sum(fn(b) for b in bodies)


def time_parsers(bodies: list[bytes], runs: int) -> None:
    items = sum(_fast_path(b) for b in bodies)
    print(f"\nParsers on {len(bodies)} feeds, {items:,} items, {sum(map(len, bodies)) / 1e6:.1f} MB "
          f"(median of {runs} runs):\n")  # fmt: skip
    print("| parser | 1 process | 2 processes | per item (1 process) |")
    print("|---|---|---|---|")
    for name, fn in PARSERS.items():
        try:
            fn(bodies[0])
        except ImportError:
            print(f"| {name} | not installed | | |")
            continue
        one = []
        for _ in range(runs):
            start = time.perf_counter()
            for body in bodies:
                fn(body)
            one.append(time.perf_counter() - start)
        two = []
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(_chunk, [(name, bodies[:2])] * 2))  # workers started and warm
            halves = [(name, bodies[0::2]), (name, bodies[1::2])]
            for _ in range(runs):
                start = time.perf_counter()
                list(pool.map(_chunk, halves))
                two.append(time.perf_counter() - start)
        print(f"| {name} | {median(one):.3f} s | {median(two):.3f} s | {median(one) / items * 1e6:.0f} us |")


def time_stages(bodies: list[bytes], runs: int) -> None:
    """Where one process spends its time per item: parse, then clean, then tag."""
    from monitor.clean import clean_entry
    from monitor.config import load_config
    from monitor.parse import parse_feed
    from monitor.tagging import Tagger

    tagger = Tagger(load_config(None).tracks)
    now = datetime.now(UTC)
    parsed = [parse_feed(b) for b in bodies]
    cleaned = [
        [clean_entry(r, feed_url=f"http://x/{i}", now=now) for r in p.entries] for i, p in enumerate(parsed)
    ]
    entries = [e for feed in cleaned for e in feed if e is not None]
    stages: dict[str, Callable[[], object]] = {
        "parse (parse_feed)": lambda: [parse_feed(b) for b in bodies],
        "clean (clean_entry)": lambda: [
            clean_entry(r, feed_url=f"http://x/{i}", now=now) for i, p in enumerate(parsed) for r in p.entries
        ],
        "tag (Tagger.tag)": lambda: [tagger.tag(e.title, e.summary) for e in entries],
    }
    print(f"\nOne process, per stage ({len(entries):,} items, median of {runs} runs):\n")
    print("| stage | total | per item |")
    print("|---|---|---|")
    for name, fn in stages.items():
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        print(f"| {name} | {median(times):.3f} s | {median(times) / len(entries) * 1e6:.0f} us |")


async def _ingest(bodies: list[bytes], db: Path) -> tuple[float, int]:
    from monitor.config import FeedConfig, load_config
    from monitor.models import FeedState, FeedStatus
    from monitor.pipeline import ParsePool
    from monitor.poller import _SaveQueue
    from monitor.store import Store
    from monitor.store.items import PollSave

    config = load_config(None)
    store = Store(db)
    urls = [f"http://feeds.example/{i}" for i in range(len(bodies))]
    now = datetime.now(UTC)
    store.sync_feeds([FeedConfig(u) for u in urls], now)
    pool = ParsePool(config.tracks, timeout=config.settings.parse_timeout)
    writer = ThreadPoolExecutor(1)
    loop = asyncio.get_running_loop()

    def run(fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        return loop.run_in_executor(writer, fn, *args)

    saves = _SaveQueue(store, run)
    pool.start()
    await pool.process(bodies[0], None, "http://warm.example/", "http://warm.example/", now)  # workers up

    async def one(url: str, body: bytes) -> int:
        processed = await pool.process(body, None, url, url, now)
        state = FeedState(url=url, title="", status=FeedStatus.OK, last_polled=now, last_success=now)
        result = await saves.save(
            PollSave(state, now, processed.entries, processed.tags, url, processed.title)
        )
        return len(result.new_ids)

    start = time.perf_counter()
    stored = sum(await asyncio.gather(*(one(u, b) for u, b in zip(urls, bodies, strict=True))))
    elapsed = time.perf_counter() - start
    pool.close()
    writer.shutdown()
    store.close()
    return elapsed, stored


def time_ingest(bodies: list[bytes], runs: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="sitmon-bench-ingest-"))
    try:
        results = []
        for n in range(runs):
            results.append(asyncio.run(_ingest(bodies, work / f"ingest-{n}.db")))
        elapsed = median([r[0] for r in results])
        items = results[0][1]
        print(f"\nIngest (2 parse workers + batched store writes, fresh database, median of {runs}): "
              f"{items:,} items in {elapsed:.2f} s = {items / elapsed:,.0f} items/s")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _stored(bodies: list[bytes], db: Path) -> tuple[object, object, list[str]]:
    """A fresh database holding these feeds' items (parsed, cleaned, tagged and saved in-process)."""
    from monitor.config import FeedConfig, load_config
    from monitor.models import FeedState, FeedStatus
    from monitor.parse_worker import process_body
    from monitor.store import Store
    from monitor.store.items import PollSave
    from monitor.tagging import Tagger

    config = load_config(None)
    tagger = Tagger(config.tracks)
    store = Store(db)
    now = datetime.now(UTC)
    urls = [f"http://feeds{i}.example/feed" for i in range(len(bodies))]
    store.sync_feeds([FeedConfig(u) for u in urls], now)
    ids: list[str] = []
    for url, body in zip(urls, bodies, strict=True):
        try:
            done = process_body(body, None, url, url, now, tagger)
        except Exception:  # an unreadable real-world file is skipped, as the poller would skip it
            continue
        state = FeedState(url=url, title="", status=FeedStatus.OK, last_polled=now, last_success=now)
        [result] = store.save_polls([PollSave(state, now, done.entries, done.tags, url, done.title)])
        ids += result.new_ids  # type: ignore[union-attr]
    return config, store, ids


def time_analysis(name: str, bodies: list[bytes]) -> None:
    """The analysis stage a poll cycle runs after storing (the ingest hooks): story clustering and
    negotiation reading of the new items, per item, on one set of feeds."""
    from monitor.clustering import Clusterer
    from monitor.negotiation import analyse_new_items

    work = Path(tempfile.mkdtemp(prefix="sitmon-bench-analysis-"))
    try:
        config, store, ids = _stored(bodies, work / "analysis.db")
        start = time.perf_counter()
        analyse_new_items(store, config, ids)  # type: ignore[arg-type]
        reading = time.perf_counter() - start
        start = time.perf_counter()
        Clusterer.from_config(store, config)(ids)  # type: ignore[arg-type]
        clustering = time.perf_counter() - start
        stories = store.conn.execute("SELECT count(*), max(items) FROM clusters").fetchone()  # type: ignore[attr-defined]
        print(f"| {name} | {len(ids):,} | {reading / len(ids) * 1e3:.2f} ms | {clustering / len(ids) * 1e3:.2f} ms "
              f"| {stories[0]:,} stories, largest {stories[1]} items |")  # fmt: skip
        store.close()  # type: ignore[attr-defined]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-parsers", action="store_true")
    parser.add_argument("--analysis-only", action="store_true", help="only the analysis table")
    args = parser.parse_args()
    if not 1 <= args.runs <= 50:
        parser.error("--runs must be 1..50")
    print_machine()
    bodies = list(
        feedgen.iter_bodies(args.feeds, args.items, anchor=datetime.now(UTC).replace(microsecond=0))
    )
    if not args.skip_parsers and not args.analysis_only:
        time_parsers(bodies, args.runs)
    if not args.analysis_only:
        time_stages(bodies, args.runs)
        time_ingest(bodies, args.runs)
    print("\nAnalysis after storing (ingest hooks), one process, per item:\n")
    print("| feeds | items | negotiation reading | story clustering | stories |")
    print("|---|---|---|---|---|")
    realfeeds = REPO_SHARED / "realfeeds"
    if realfeeds.is_dir():
        time_analysis(
            "../shared/realfeeds (real outlets)", [p.read_bytes() for p in sorted(realfeeds.glob("*.xml"))]
        )
    else:
        print("| ../shared/realfeeds | not present | | | |")
    time_analysis(f"generated, {args.feeds} x {args.items} (few headline templates)", bodies)


if __name__ == "__main__":
    main()
