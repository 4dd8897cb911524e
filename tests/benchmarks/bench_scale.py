"""Scale: store queries and the TUI at 0, 10k, 100k and 1M stored items, as ratios to an empty database.

    .venv/bin/python -m tests.benchmarks.bench_scale [--sizes 0,10000,100000,1000000] [--repeat 30]
        [--no-tui | --no-queries]

Databases are built once through the real store code (`Store.save_poll`, one big batch per synthetic
feed, tags from the real Tagger) and cached under $SITMON_BENCH_CACHE (default /tmp/sitmon-bench-cache);
the 1M one takes a few minutes the first time. The TUI is measured headless (`App.run_test()`) in a fresh
process per size: launch to the first frame with items, keystroke to repaint for a track switch and for a
search, the store statements a track switch issues, and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.benchmarks import feedgen
from tests.benchmarks.common import PYTHON, REPO, peak_rss_mb, percentile, print_machine

BUILD_VERSION = "3"
"""Bump when the synthetic data changes, so cached databases are rebuilt."""
FEEDS = 200
DAYS = 365
CHUNK = 5_000
"""Entries per save_poll call while building (a big batch per synthetic feed)."""
SEARCH_WORDS = ("geneva", "ceasefire", "grain", "shortfall", "kyiv", "protesters", "observers", "budget")
TRACK_KEYS = ("1", "2", "3", "a")
EXPANDED_PANE_ROWS = 47
"""Rows an expanded pane shows in the 200x50 terminal the TUI is measured in."""
"""Keys cycled for the track-switch measurement (each different from the one before)."""
STATUS_WAIT = 180.0
"""Longest wait for the status panel's first computation before keystrokes are measured anyway."""


def cache_dir() -> Path:
    path = Path(os.environ.get("SITMON_BENCH_CACHE", "/tmp/sitmon-bench-cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_path(size: int) -> Path:
    return cache_dir() / f"scale-{size}-v{BUILD_VERSION}.db"


# ---- building --------------------------------------------------------------------------------------


def _entries(feed: int, count: int, start: int, stop: int, now: datetime) -> list[Any]:
    """Clean entries `start..stop` of a synthetic feed holding `count` items spread over a year."""
    from monitor.clean import entry_id
    from monitor.models import CleanEntry

    step = timedelta(days=DAYS) / max(count, 1)
    out = []
    for n in range(start, stop):
        s = feedgen.story(feed, n)
        published = now - step * (count - 1 - n) - timedelta(minutes=feed * 3 % 55)
        guid = f"news{feed % 40}.example.org-{feed}-{n}"
        item_id, _ = entry_id(f"http://feeds.example/{feed}", guid, None, s.title, published)
        out.append(
            CleanEntry(
                id=item_id,
                guid=guid,
                link=f"https://news{feed % 40}.example.org/{s.slug}-{feed}-{n}",
                title=s.title,
                summary="\n".join(s.paragraphs),
                published=published,
                date_estimated=False,
                author=s.author,
            )
        )
    return out


def _tagged_chunk(args: tuple[int, int, int, int, datetime]) -> tuple[int, list[Any], dict[str, Any]]:
    from monitor.config import load_config
    from monitor.tagging import Tagger

    feed, count, start, stop, now = args
    tagger = _TAGGERS.get("t") or _TAGGERS.setdefault("t", Tagger(load_config(None).tracks))
    entries = _entries(feed, count, start, stop, now)
    tags = {e.id: m for e in entries if (m := tagger.tag(e.title, e.summary))}
    return feed, entries, tags


_TAGGERS: dict[str, Any] = {}


def build(size: int, now: datetime) -> Path:
    """Build (or reuse) the database with `size` items; returns its path."""
    from monitor.config import FeedConfig
    from monitor.models import FeedState, FeedStatus
    from monitor.store import ALL, Store

    path = db_path(size)
    if path.exists():
        store = Store(path)
        try:
            if store.get_meta("bench_built") == "ok":
                return path
        finally:
            store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    began = time.perf_counter()
    store = Store(path)
    feeds = [FeedConfig(f"http://feeds.example/{f}", f"Example News {f}") for f in range(FEEDS)]
    store.sync_feeds(feeds, now)
    per_feed = size // FEEDS
    jobs = [(f, per_feed, start, min(start + CHUNK, per_feed), now) for f in range(FEEDS)
            for start in range(0, per_feed, CHUNK)]  # fmt: skip
    done = 0
    # Text generation and tagging run in two processes; the store is written from this one.
    with ProcessPoolExecutor(2) as pool:
        for feed, entries, tags in pool.map(_tagged_chunk, jobs, chunksize=1):
            state = FeedState(url=feeds[feed].url, title=feeds[feed].title, status=FeedStatus.OK,
                              etag=f'"{feed}"', last_polled=now, last_success=now,
                              next_poll=now + timedelta(hours=1))  # fmt: skip
            store.save_poll(state, entries=entries, tags=tags, source=feeds[feed].title, now=now)
            done += len(entries)
            if done // 100_000 != (done - len(entries)) // 100_000:
                print(
                    f"    built {done:,} of {size:,} items ({time.perf_counter() - began:.0f} s)", flush=True
                )
    # A reader keeps up with the last week; everything older is read.
    store.mark_track_read(ALL, upto=now - timedelta(days=7))
    store.set_meta("bench_now", now.isoformat())
    store.set_meta("bench_built", "ok")
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    print(f"  built {size:,} items in {time.perf_counter() - began:.0f} s: {path} "
          f"({path.stat().st_size / 1e6:.0f} MB)")  # fmt: skip
    return path


def bench_now(path: Path) -> datetime:
    from monitor.store import Store

    store = Store(path)
    try:
        value = store.get_meta("bench_now")
    finally:
        store.close()
    return datetime.fromisoformat(value) if value else datetime.now(UTC)


# ---- store queries ---------------------------------------------------------------------------------


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # first call warms the page cache and statement cache, as a running app would have them
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def query_timings(path: Path, repeat: int) -> dict[str, list[float]]:
    from monitor.config import load_config
    from monitor.store import ALL, UNTRACKED, Store
    from monitor.tui.screens.main import FIRST_ROWS_BELOW
    from monitor.tui.view_data import ViewQuery, load_view, view_parts

    config = load_config(None)
    tracks = config.track_ids
    now = bench_now(path)
    store = Store(path)
    panes = {t: t for t in tracks} | {ALL: ALL}
    limits = dict.fromkeys(panes, config.settings.pane_rows)
    first_pane = (tracks[-1],)
    """The pane the TUI measurement searches in (its last track key, expanded)."""
    first_limits = {tracks[-1]: EXPANDED_PANE_ROWS + FIRST_ROWS_BELOW}
    """A screenful and a few more, as the TUI reads first for a pane on screen whose filter changed."""

    def first_part(word: str) -> object:
        query = ViewQuery(panes=panes, limits=limits, track_ids=tracks, now=now, search=word,
                          first=first_pane, first_limits=first_limits)  # fmt: skip
        return view_parts(store, query)[0]()

    first = store.query_items(track=tracks[0], limit=300)
    cursor = (first[-1].published, first[-1].rowid) if first else None
    cases: dict[str, Callable[[], object]] = {
        f"query_items track={tracks[0]} limit 300": lambda: store.query_items(track=tracks[0], limit=300),
        "query_items all limit 300": lambda: store.query_items(track=ALL, limit=300),
        "query_items untracked limit 300": lambda: store.query_items(track=UNTRACKED, limit=300),
        f"query_items track={tracks[0]} unread only": lambda: store.query_items(
            track=tracks[0], unread_only=True, limit=300
        ),
        f"query_items track={tracks[0]} next page": lambda: store.query_items(
            track=tracks[0], limit=300, before=cursor
        ),
        "query_items search 'geneva' (all)": lambda: store.query_items(search="geneva", limit=300),
        f"query_items search 'geneva' track={tracks[0]}": lambda: store.query_items(
            track=tracks[0], search="geneva", limit=300
        ),
        f"query_items search 'kyiv' track={tracks[0]} (rare there)": lambda: store.query_items(
            track=tracks[0], search="kyiv", limit=300
        ),
        "search_matches 'geneva' (prepare a search)": lambda: store.search_matches("geneva"),
        "unread_counts": lambda: store.unread_counts(list(tracks)),
        "hourly_counts all": lambda: store.hourly_counts(None, now),
        f"hourly_counts {tracks[0]}": lambda: store.hourly_counts(tracks[0], now),
        "feed_states (with item counts: feed-health screen)": store.feed_states,
        "feed_states(counts=False) (status line)": lambda: store.feed_states(counts=False),
        "due_feeds (poller, every cycle)": lambda: store.due_feeds(now),
        "load_view (TUI refresh, 4 panes)": lambda: load_view(
            store, ViewQuery(panes=panes, limits=limits, track_ids=tracks, now=now)
        ),
        "load_view with search 'geneva'": lambda: load_view(
            store, ViewQuery(panes=panes, limits=limits, track_ids=tracks, now=now, search="geneva")
        ),
        "load_view, search 'geneva', first part (1 pane on screen)": lambda: first_part("geneva"),
        "load_view, search 'kyiv', first part (1 pane on screen)": lambda: first_part("kyiv"),
    }
    try:
        return {name: _timed(fn, repeat) for name, fn in cases.items()}
    finally:
        store.close()


# ---- the TUI (child process) -----------------------------------------------------------------------


async def _tui_child(path: Path, repeat: int, launched: float) -> dict[str, Any]:
    """Drive the real app headless; times come from hooks on the app's own frames, not from Pilot's waits."""
    from monitor.config import load_config
    from monitor.store import Store
    from monitor.tui.app import MonitorApp

    now = bench_now(path)
    config = load_config(None)
    store = Store(path)
    app = MonitorApp(config, store, clock=lambda: now, poller=None, watch_interval=None)
    main = app.main
    frames: list[float] = []
    """When each frame finished rendering (headless: composed, not written to a terminal)."""
    fired: list[float] = []
    """When a pane reload started (after the search debounce)."""
    applied: list[float] = []
    """When a read was applied to the panes: the panes on screen (first part), then the others."""
    first_parts: dict[int, float] = {}
    """Filter generation -> when its first part (the panes on screen) was applied."""
    statements: list[str] = []
    """SQL run on any of the store's connections while `tracing` (a track switch should run none)."""
    tracing = [False]
    panel_done: list[float] = []
    display, start_refresh, apply_view = app._display, main._start_refresh, main._apply_view
    panel_show, panel_error = main.status_panel._show, main.status_panel._show_error

    def on_display(screen: Any, renderable: Any) -> None:
        if renderable is not None:
            frames.append(time.perf_counter())
        display(screen, renderable)

    def on_start_refresh() -> None:
        fired.append(time.perf_counter())
        start_refresh()

    def on_apply_view(data: Any, *args: Any) -> None:
        current = data.query.generation == main.generation
        apply_view(data, *args)
        moment = time.perf_counter()
        applied.append(moment)
        if current:
            first_parts.setdefault(data.query.generation, moment)

    def on_panel(*args: Any) -> None:
        panel_done.append(time.time())
        panel_show(*args)

    def on_panel_error(*args: Any) -> None:
        panel_done.append(time.time())
        panel_error(*args)

    def trace(connection: Any) -> Any:
        connection.set_trace_callback(lambda sql: statements.append(sql) if tracing[0] else None)
        return connection

    connect = store._connect
    store._connect = lambda: trace(connect())  # type: ignore[method-assign]
    for connection in list(store._all):
        trace(connection)
    app._display = on_display  # type: ignore[method-assign]
    main._start_refresh = on_start_refresh  # type: ignore[method-assign]
    main._apply_view = on_apply_view  # type: ignore[method-assign]
    main.status_panel._show = on_panel  # type: ignore[method-assign]
    main.status_panel._show_error = on_panel_error  # type: ignore[method-assign]

    def frame_after(moment: float) -> float | None:
        return next((f for f in frames if f >= moment), None)

    async def settle() -> None:
        for _ in range(2000):  # bounded: 20 s at most
            if main._applied_generation == main.generation and not main._refresh_timer:
                break
            await pilot.pause(0.005)
        await pilot.pause()

    result: dict[str, Any] = {}
    async with app.run_test(size=(200, 50)) as pilot:
        await settle()
        first = frame_after(applied[0]) if applied else None
        result["first_frame"] = (first or time.perf_counter()) - time.perf_counter() + time.time() - launched
        result["rows_shown"] = sum(len(p.list.items) for p in main.panes.values())
        # The negotiation-status panel analyses recent items in a worker thread (started once the first
        # rows are on screen); keystrokes are measured once it is done (its time is reported on its own),
        # or after STATUS_WAIT seconds regardless.
        result["status_panel"] = None
        for _ in range(int(STATUS_WAIT / 0.05)):
            if panel_done:
                result["status_panel"] = panel_done[0] - launched
                break
            await pilot.pause(0.05)
        await pilot.pause(0.5)
        switches, settled = [], []
        tracing[0] = True
        for n in range(repeat):
            key = TRACK_KEYS[n % len(TRACK_KEYS)]
            pressed = time.perf_counter()
            await pilot.press(key)
            await pilot.pause(0.3)  # later frames: focus moves, the footer redraws its keys
            painted = [f for f in frames if f >= pressed]
            if painted:
                switches.append(painted[0] - pressed)
                settled.append(painted[-1] - pressed)
        await settle()
        tracing[0] = False
        result["switch"] = switches
        result["switch_settled"] = settled
        result["switch_statements"] = statements[:]
        after_debounce, after_typing, every_pane = [], [], []
        for n in range(repeat):
            word = SEARCH_WORDS[n % len(SEARCH_WORDS)]
            await pilot.press("slash", *word[:-1])
            typed = time.perf_counter()
            await pilot.press(word[-1])
            await settle()
            for _ in range(400):  # the panes off screen follow in a second part
                if not any(w.group == "refresh" and not w.is_finished for w in app.workers):
                    break
                await pilot.pause(0.005)
            shown = frame_after(first_parts.get(main.generation, applied[-1]))
            if shown is not None:
                after_debounce.append(shown - fired[-1])
                after_typing.append(shown - typed)
                every_pane.append(applied[-1] - fired[-1])
            await pilot.press("escape")
            await settle()
        result["search_after_debounce"] = after_debounce
        result["search_after_typing"] = after_typing
        result["search_every_pane"] = every_pane
    store.close()
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def tui_timings(path: Path, repeat: int) -> dict[str, Any]:
    command = [PYTHON, "-m", "tests.benchmarks.bench_scale", "--tui-child", str(path), "--repeat", str(repeat),
               "--launched", repr(time.time())]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"TUI child failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ---- report ----------------------------------------------------------------------------------------


def _status(seconds: float | None) -> str:
    return f"{seconds:.1f} s" if seconds is not None else f"> {STATUS_WAIT:.0f} s"


def _statements(sql: list[str]) -> str:
    """How many statements, and how many of them read (a switch may write the pane it left as seen)."""
    reads = sum(1 for s in sql if s.lstrip().upper().startswith(("SELECT", "WITH")))
    return f"{len(sql)} ({reads} reads)"


def _ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p) * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=30, help="repetitions of each query and keystroke")
    parser.add_argument("--no-tui", action="store_true", help="store queries only")
    parser.add_argument("--no-queries", action="store_true", help="the TUI only")
    parser.add_argument("--tui-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1 <= args.repeat <= 1000:
        parser.error("--repeat must be 1..1000")
    if args.tui_child:
        print(json.dumps(asyncio.run(_tui_child(args.tui_child, args.repeat, args.launched or time.time()))))
        return

    print_machine()
    sizes = [int(s) for s in args.sizes.split(",")]
    now = datetime.now(UTC).replace(microsecond=0)
    paths = {size: build(size, now) for size in sizes}
    if not args.no_queries:
        queries = {size: query_timings(paths[size], args.repeat) for size in sizes}
        print("\nStore queries, p50 / p95 ms (each call repeated, warm cache):\n")
        names = list(next(iter(queries.values())))
        print("| query | " + " | ".join(f"{s:,} items" for s in sizes) + " |")
        print("|---|" + "---|" * len(sizes))
        for name in names:
            cells = [f"{_ms(queries[s][name], 50)} / {_ms(queries[s][name], 95)}" for s in sizes]
            print(f"| {name} | " + " | ".join(cells) + " |")
        sys.stdout.flush()
    tui = {} if args.no_tui else {size: tui_timings(paths[size], args.repeat) for size in sizes}
    if tui:
        base = tui[sizes[0]]
        print("\nTUI (headless App.run_test, 200x50), ratio to the smallest database in brackets:\n")
        print("| items | launch to first frame | status panel ready | track switch: first repaint p50 / p95 "
              "| track switch: last frame p95 | store statements in the switches "
              "| search p50 / p95 (after debounce) | search p95 after last key | search: every pane read p95 "
              "| peak RSS |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|")
        for size in sizes:
            t = tui[size]
            print(
                f"| {size:,} | {t['first_frame']:.2f} s ({t['first_frame'] / base['first_frame']:.2f}x) "
                f"| {_status(t['status_panel'])} "
                f"| {_ms(t['switch'], 50)} / {_ms(t['switch'], 95)} ms | {_ms(t['switch_settled'], 95)} ms "
                f"| {_statements(t['switch_statements'])} "
                f"| {_ms(t['search_after_debounce'], 50)} / {_ms(t['search_after_debounce'], 95)} ms "
                f"| {_ms(t['search_after_typing'], 95)} ms | {_ms(t['search_every_pane'], 95)} ms "
                f"| {t['peak_rss_mb']:.0f} MB ({t['peak_rss_mb'] / base['peak_rss_mb']:.2f}x) |"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
