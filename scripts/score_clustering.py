"""Score story clustering on the labelled pairs: pairwise precision and recall over real feeds."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.clean import clean_entry  # noqa: E402
from monitor.clustering import THRESHOLD, Clusterer  # noqa: E402
from monitor.config import Config, FeedConfig, build_config, default_tables  # noqa: E402
from monitor.models import CleanEntry, FeedState, FeedStatus  # noqa: E402
from monitor.parse import parse_feed  # noqa: E402
from monitor.store import Store  # noqa: E402
from monitor.tagging import Tagger  # noqa: E402

CAPTURED = datetime.fromisoformat("2026-02-18T12:00:00+00:00")
PAIRS = REPO / "tests" / "data" / "cluster_pairs.jsonl"
REALFEEDS = REPO.parent / "shared" / "realfeeds"


@dataclass(frozen=True, slots=True)
class LoadedFeed:
    file: str
    feed_url: str
    keys: dict[str, str]
    """The feed's own guid (or link) -> stored item id."""
    new_ids: list[str]


OUTLETS = {
    "abcnews_international_2026.xml": "ABC News",
    "aljazeera_all_2026.xml": "Al Jazeera",
    "almonitor_middleeast_2026.xml": "Al-Monitor",
    "bbc_world_2026.xml": "BBC World",
    "cbsnews_world_2026.xml": "CBS News",
    "csmonitor_all_2026.xml": "Christian Science Monitor",
    "dawn_world_2026.xml": "Dawn",
    "dw_all_rdf_2026.xml": "DW",
    "elpais_english_2026.xml": "El País English",
    "foreignpolicy_2026.xml": "Foreign Policy",
    "japantoday_world_2026.xml": "Japan Today",
    "kyivindependent_news_2026.xml": "Kyiv Independent",
    "mercopress_2026.xml": "MercoPress",
    "ndtv_world_search_2026.xml": "NDTV",
    "npr_world_2026.xml": "NPR",
    "nyt_world_2026.xml": "New York Times",
    "theweek_all_2026.xml": "The Week",
    "washingtonpost_world_2026.xml": "Washington Post",
}
"""Outlet names from ../shared/realfeeds/SOURCES.md, used as each feed's configured title."""


def feed_url_for(file: str) -> str:
    """A made-up but distinct feed address per file (its own domain, so each file is its own outlet)."""
    return f"https://{Path(file).stem.replace('_', '-')}.example/feed"


def source_for(file: str) -> str:
    return OUTLETS.get(file, Path(file).stem)


def load_feed(
    store: Store, tagger: Tagger, path: Path
) -> tuple[FeedConfig, FeedState, list[CleanEntry], dict]:
    """The project pipeline for one saved feed: parse_feed -> clean_entry -> Tagger."""
    url = feed_url_for(path.name)
    parsed = parse_feed(path.read_bytes(), url=url)
    dates = [raw.published for raw in parsed.entries if raw.published is not None]
    # The capture moment: just after the newest item, so no date looks like it is in the future.
    now = max(dates) + timedelta(hours=1) if dates else datetime.fromisoformat("2026-02-18T12:00:00+00:00")
    entries: list[CleanEntry] = []
    keys: dict[str, str] = {}
    for raw in parsed.entries:
        entry = clean_entry(raw, feed_url=url, now=now)
        if entry is None:
            continue
        entries.append(entry)
        key = raw.guid or raw.link
        if key:
            keys.setdefault(key, entry.id)
    tags = {e.id: t for e in entries if (t := tagger.tag(e.title, e.summary))}
    feed = FeedConfig(url=url, title=source_for(path.name))
    state = FeedState(url=url, title=feed.title, status=FeedStatus.OK, last_polled=now, last_success=now)
    return feed, state, entries, {"keys": keys, "tags": tags, "now": now}


def build(store: Store, config: Config, files: list[Path], threshold: float, *,
          hourly: bool = True) -> tuple[dict[tuple[str, str], str], float]:  # fmt: skip
    """Store and cluster every file, returning (file, guid or link) -> item id.

    `hourly` replays the capture as hourly polls (each feed delivers what it published in the
    last hour, oldest hour first), the way a running monitor meets the items; otherwise each
    file is stored whole, like the first poll of a new install.
    """
    tagger = Tagger(config.tracks)
    clock = [datetime.fromisoformat("2026-01-01T00:00:00+00:00")]
    clusterer = Clusterer(store, window_hours=config.settings.cluster_window_hours, threshold=threshold,
                          clock=lambda: clock[0])  # fmt: skip
    loaded = [load_feed(store, tagger, path) for path in files]
    store.sync_feeds([feed for feed, *_ in loaded], datetime.fromisoformat("2026-01-01T00:00:00+00:00"))
    refs: dict[tuple[str, str], str] = {}
    batches: list[tuple[datetime, str, FeedState, list[CleanEntry], dict]] = []
    for path, (_feed, state, entries, extra) in zip(files, loaded, strict=True):
        for key, item_id in extra["keys"].items():
            refs[(path.name, key)] = item_id
        if not hourly:
            batches.append(
                (datetime.min.replace(tzinfo=extra["now"].tzinfo), path.name, state, entries, extra)
            )
            continue
        by_hour: dict[datetime, list[CleanEntry]] = {}
        for entry in entries:
            hour = entry.published.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            by_hour.setdefault(hour, []).append(entry)
        batches.extend((hour, path.name, state, chunk, extra) for hour, chunk in by_hour.items())
    batches.sort(key=lambda b: (b[0], b[1]))
    clustering_seconds = 0.0
    for hour, name, state, entries, extra in batches:
        now = extra["now"] if not hourly else hour
        # Whole files all arrive at the capture moment (most files were saved on 2026-02-18).
        clock[0] = hour if hourly else CAPTURED
        saved = store.save_poll(state, entries=entries, tags=extra["tags"], source=source_for(name), now=now)
        began = time.perf_counter()
        clusterer(saved.new_ids)
        clustering_seconds += time.perf_counter() - began
    return refs, clustering_seconds


def read_pairs(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument(
        "--feeds", type=Path, default=REALFEEDS, help="folder of saved feeds (../shared/realfeeds)"
    )
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--errors", action="store_true", help="list the pairs the clustering got wrong")
    parser.add_argument(
        "--whole-files", action="store_true", help="store each file at once instead of replaying hourly polls"
    )
    args = parser.parse_args(argv)
    if not args.feeds.is_dir():
        print(f"no saved feeds at {args.feeds}", file=sys.stderr)
        return 2
    pairs = list(read_pairs(args.pairs))
    wanted = {p[side]["file"] for p in pairs for side in ("a", "b")}
    # Every feed of the capture goes in, labelled or not: unrelated items are what a false merge is made of.
    files = sorted(
        {*wanted, *(p.name for p in args.feeds.glob("*_2026.xml") if not p.name.startswith("odd_"))}
    )
    config = build_config(default_tables())
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "score.db")
        refs, seconds = build(store, config, [args.feeds / f for f in files], args.threshold,
                              hourly=not args.whole_files)  # fmt: skip
        tp = fp = fn = tn = 0
        missing = 0
        errors: list[tuple[str, dict, str, str]] = []
        for pair in pairs:
            ids = [refs.get((pair[s]["file"], pair[s]["guid_or_link"])) for s in ("a", "b")]
            if None in ids:
                missing += 1
                continue
            a, b = (store.get_item(i) for i in ids)  # type: ignore[arg-type]
            assert a is not None and b is not None
            together = a.cluster_id == b.cluster_id
            if pair["same"] and together:
                tp += 1
            elif pair["same"]:
                fn += 1
                errors.append(("missed", pair, a.title, b.title))
            elif together:
                fp += 1
                errors.append(("merged", pair, a.title, b.title))
            else:
                tn += 1
        items = store.count_items()
        stories = len({i.cluster_id for i in store.query_items(limit=100_000)})
        store.close()
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    print(
        f"labelled pairs: {len(pairs)} ({tp + fn} same event, {fp + tn} different){f', {missing} unresolved' if missing else ''}"
    )
    print(f"feeds: {len(files)}  items: {items}  stories: {stories}  clustering: {seconds:.2f} s")
    print(
        f"threshold {args.threshold:.2f}: precision {precision:.3f}  recall {recall:.3f}  (tp {tp} fp {fp} fn {fn} tn {tn})"
    )
    if args.errors:
        for kind, pair, title_a, title_b in errors:
            print(
                f"\n{kind} [{pair['event']}]\n  {pair['a']['file']}: {title_a}\n  {pair['b']['file']}: {title_b}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
