"""`sitmon demo`: bundled sample feeds served on 127.0.0.1 into a temporary database, then the TUI."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.cli import Context
    from monitor.config import Config
    from monitor.store import Store


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="try the app offline on bundled sample feeds",
        description="Serve fictional sample feeds on 127.0.0.1, poll them into a temporary database "
        "(removed on exit) and open the TUI. Needs no internet access; ignores --config and --db.",
    )
    p.add_argument("--no-tui", action="store_true", help="poll without the TUI and print what arrived")
    p.add_argument("--once", action="store_true", help="with --no-tui: poll once and exit (the default)")
    p.add_argument("--forever", action="store_true", help="with --no-tui: keep polling until Ctrl-C")
    p.set_defaults(func=run)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run(ctx: Context) -> int:
    from monitor.demo import DemoServer, demo_config
    from monitor.store import Store

    workdir = Path(tempfile.mkdtemp(prefix="sitmon-demo-"))
    # A closed terminal (SIGHUP) or `kill` (SIGTERM) must still remove the temporary database.
    previous = {sig: signal.signal(sig, _exit_on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with DemoServer() as server:
            config = demo_config(server, digest_dir=workdir / "digests")
            store = Store(workdir / "demo.db")
            try:
                if ctx.args.no_tui:
                    return _headless(config, store, forever=ctx.args.forever and not ctx.args.once)
                from monitor.commands.tui import run_app

                notice = f"demo: fictional feeds from {server.base_url}, temporary database removed on exit"
                return run_app(config, store, workdir / "demo.db", poll=True, notice=notice)
            finally:
                store.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _headless(config: Config, store: Store, *, forever: bool) -> int:
    from monitor.commands.poll import feed_line, total_line
    from monitor.commands.tui import make_poller
    from monitor.models import PollReport

    poller = make_poller(config, store)
    poller.on_feed = lambda report: print(feed_line(report), flush=True)

    def summary(report: PollReport) -> None:
        print(total_line(report))
        counts = store.unread_counts(list(config.track_ids))
        for track in config.tracks:
            print(f"  {track.title:<12} {store.count_items(track.id):>4} items, {counts[track.id]:>4} unread")
        print(f"  {'All':<12} {store.count_items():>4} items", flush=True)

    try:
        if forever:
            asyncio.run(poller.run_forever(asyncio.Event(), on_cycle=summary))
        else:
            summary(asyncio.run(poller.poll_once(force=True)))
    finally:
        poller.close()
    return 0
