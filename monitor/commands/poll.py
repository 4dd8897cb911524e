"""`sitmon poll`: poll once or forever, printing one line per feed and a total."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import TYPE_CHECKING

from monitor.models import FeedPollReport, PollReport

if TYPE_CHECKING:
    from monitor.cli import Context


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("poll", help="poll feeds (forever on schedule, or --once)")
    p.add_argument("--once", action="store_true", help="poll every feed that is due, then exit")
    p.add_argument(
        "--force", action="store_true", help="ignore schedule and back-off (still conditional GET)"
    )
    p.add_argument("--quiet", action="store_true", help="print only the total line")
    p.set_defaults(func=run)


def feed_line(report: FeedPollReport) -> str:
    from monitor.commands.output import safe_cell

    status = str(report.status)
    detail = f"+{report.new_items} new" if report.new_items else ""
    if report.updated_items:
        detail += f" ~{report.updated_items} updated"
    if report.error:
        detail = f"{report.error_kind}: {report.error}" if not detail else f"{detail} ({report.error})"
    return f"{status:<13} {report.seconds:6.2f}s  {safe_cell(report.title)[:40]:<40}  {safe_cell(detail)}"


def total_line(report: PollReport) -> str:
    seconds = (report.finished - report.started).total_seconds()
    ok = len(report.feeds) - report.failing
    return (
        f"polled {len(report.feeds)} feeds in {seconds:.1f}s: {report.new_items} new items, "
        f"{ok} ok, {report.failing} failing"
    )


def run(ctx: Context) -> int:
    from monitor.fetch import warm_tls

    warm_tls()  # the CA bundle loads in a thread while the config and the database do

    from monitor.cli import CliError
    from monitor.ingest_hooks import make_poller
    from monitor.poller import PollerBusy, PollerLock, offline_notice

    config, store = ctx.config, ctx.store
    quiet = ctx.args.quiet
    lock = PollerLock(ctx.db_path)
    try:
        lock.acquire()
    except PollerBusy as exc:
        raise CliError(str(exc)) from None
    lines: list[str] = []

    def on_feed(report: FeedPollReport) -> None:
        lines.append(feed_line(report))

    poller = make_poller(config, store, on_feed=None if quiet else on_feed)
    poller.sync_feeds()

    def show(report: PollReport) -> None:
        notice = offline_notice(report)
        if notice and notice.startswith("offline"):
            print(notice)
        else:
            for line in lines:
                print(line)
        lines.clear()
        print(total_line(report))
        sys.stdout.flush()

    async def forever() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await poller.run_forever(stop, on_cycle=show)

    try:
        if ctx.args.once:
            show(asyncio.run(poller.poll_once(force=ctx.args.force)))
        else:
            print(
                f"polling {len(config.feeds)} feeds every {config.settings.poll_interval}s into {ctx.db_path}"
            )
            asyncio.run(forever())
    finally:
        poller.close()
        lock.release()
    return 0
