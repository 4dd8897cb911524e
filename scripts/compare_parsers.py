"""Compare monitor.parse.parse_feed with feedparser alone on a folder of real feeds: items, ids, time."""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import feedparser

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from monitor.clean import clean_entry  # noqa: E402
from monitor.models import ParsedFeed  # noqa: E402
from monitor.parse import ParseError, parse_feed, parse_with_feedparser  # noqa: E402

FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")
NOW = datetime(2030, 1, 1, tzinfo=UTC)
"""A fixed clock so ids of title+date entries do not depend on when the script runs."""


def _best_time(fn: Callable[[], object], repeat: int) -> float:
    """Fastest of `repeat` runs: the least noisy estimate on a shared machine."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _ids(parsed: ParsedFeed, feed_url: str) -> list[tuple[str, str]]:
    cleaned = (clean_entry(e, feed_url=feed_url, now=NOW) for e in parsed.entries)
    return [(c.id, c.title) for c in cleaned if c is not None]


def _feedparser_default(body: bytes) -> object:
    # feedparser as most projects call it: sanitiser and relative-URI resolution on.
    return feedparser.parse(io.BytesIO(body), response_headers={"content-type": "application/xml"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "folder", nargs="?", type=Path, default=REPO_ROOT.parent / "shared" / "realfeeds", help="feed files"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per file (best is kept)")
    args = parser.parse_args(argv)
    files = sorted(p for p in args.folder.iterdir() if p.suffix in FEED_SUFFIXES)
    if not files:
        print(f"no feed files in {args.folder}", file=sys.stderr)
        return 1

    totals = {"ours": 0.0, "fp_fast": 0.0, "fp_default": 0.0}
    items = {"ours": 0, "fp": 0}
    mismatched_files = 0
    path_totals: dict[str, list[Any]] = {}
    header = f"{'file':48} {'feedparser':>10} {'ours':>5} {'path':12} {'ids':>9}  note"
    print(header)
    print("-" * len(header))
    for path in files:
        body = path.read_bytes()
        feed_url = f"https://feeds.example/{path.name}"
        alone = parse_with_feedparser(body, prepare=False)
        try:
            ours = parse_feed(body, url=feed_url)
        except ParseError as exc:
            print(f"{path.name:48} {len(alone.entries):>10} {'-':>5} {'error':12} {'':>9}  {exc}")
            continue
        ours_time = _best_time(partial(parse_feed, body), args.repeat)
        fp_time = _best_time(partial(parse_with_feedparser, body, prepare=False), args.repeat)
        totals["ours"] += ours_time
        totals["fp_fast"] += fp_time
        totals["fp_default"] += _best_time(partial(_feedparser_default, body), 1)
        by_path = path_totals.setdefault(ours.parser, [0, 0.0, 0.0])
        by_path[0] += 1
        by_path[1] += ours_time
        by_path[2] += fp_time
        items["ours"] += len(ours.entries)
        items["fp"] += len(alone.entries)

        ours_ids, alone_ids = _ids(ours, feed_url), _ids(alone, feed_url)
        # Through the fallback path (same preparation, feedparser doing the parsing): the path a
        # feed takes the day its XML breaks.  Its ids must equal the fast path's.
        fallback_ids = _ids(parse_with_feedparser(body), feed_url)
        agree = sum(1 for a, b in zip(ours_ids, alone_ids, strict=False) if a == b)
        compared = min(len(ours_ids), len(alone_ids))
        same_as_fallback = fallback_ids == ours_ids or ours.parser == "lxml-repair"
        if agree != compared or not same_as_fallback:
            mismatched_files += 1
        note = ours.malformed_reason or ""
        if not same_as_fallback:
            note = f"FALLBACK IDS DIFFER {note}"
        ids = f"{agree}/{compared}" if compared else "-"
        print(
            f"{path.name:48} {len(alone.entries):>10} {len(ours.entries):>5} {ours.parser:12} {ids:>9}  {note}"
        )

    print("-" * len(header))
    print(f"items: feedparser alone {items['fp']}, parse_feed {items['ours']}")
    print(f"files with id/title disagreements: {mismatched_files}")
    print(
        f"time over {len(files)} files (best of {args.repeat}): parse_feed {totals['ours'] * 1000:.1f} ms, "
        f"feedparser (sanitise/resolve off) {totals['fp_fast'] * 1000:.1f} ms, "
        f"feedparser (defaults) {totals['fp_default'] * 1000:.1f} ms"
    )
    for parser_path, (count, ours_time, fp_time) in sorted(path_totals.items()):
        print(
            f"  {count:2} files via {parser_path:11}: parse_feed {ours_time * 1000:7.1f} ms, "
            f"feedparser {fp_time * 1000:7.1f} ms ({fp_time / ours_time:.1f}x)"
        )
    if totals["ours"]:
        print(
            f"ratio: feedparser off/parse_feed {totals['fp_fast'] / totals['ours']:.1f}x, "
            f"feedparser defaults/parse_feed {totals['fp_default'] / totals['ours']:.1f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
