"""Opening the TUI from the command line (the only place the CLI reaches Textual)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from monitor.cli import Context
    from monitor.config import Config
    from monitor.poller import Poller
    from monitor.store import Store
    from monitor.tui.app import MonitorApp


def make_poller(config: Config, store: Store) -> Poller:
    """The standard poller (clustering and negotiation reading at ingest), for the TUI and the demo."""
    from monitor.ingest_hooks import make_poller as standard_poller

    return standard_poller(config, store)


@contextmanager
def monitor_app(config: Config, store: Store, db_path: Path, *, poll: bool,
                notice: str | None = None) -> Iterator[MonitorApp]:  # fmt: skip
    """The app, polling in the background unless `poll` is False or another poller holds the lock.

    When the lock is held we do not refuse to start: the app opens as a viewer of that poller's
    database and says so in a toast, which is what someone who runs `sitmon` next to a `sitmon poll`
    daemon wants (the daemon writes, this process watches the database and shows it).
    """
    from monitor.poller import PollerBusy, PollerLock
    from monitor.tui.app import MonitorApp

    lock = PollerLock(db_path)
    poller: Poller | None = None
    notices = [notice] if notice else []
    if poll:
        try:
            lock.acquire()
        except PollerBusy as exc:
            notices.append(f"viewer mode: {exc}")
        else:
            poller = make_poller(config, store)
    try:
        yield MonitorApp(config, store, poller=poller, notice="\n".join(notices) or None)
    finally:
        if poller is not None:
            poller.close()
        lock.release()


def run_app(config: Config, store: Store, db_path: Path, *, poll: bool, notice: str | None = None) -> int:
    with monitor_app(config, store, db_path, poll=poll, notice=notice) as app:
        app.run()
    return 0


def open_tui(ctx: Context) -> int:
    return run_app(ctx.config, ctx.store, ctx.db_path, poll=not ctx.args.no_poll)
