"""Polling versus viewer mode, the offline notice, and the width at which panes go side by side."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from monitor.commands.tui import monitor_app
from monitor.config import Config
from monitor.models import FeedPollReport, FeedStatus, PollReport
from monitor.poller import PollerLock
from monitor.store import Store
from monitor.tui.messages import PollFinished
from tests.tui.conftest import AppFactory
from tests.tui.helpers import screen_text, settle
from tests.tui.seed import FEEDS, NOW


async def test_a_held_poll_lock_opens_a_viewer_with_a_notice(
    store: Store, config: Config, db_path: Path
) -> None:
    with PollerLock(db_path), monitor_app(config, store, db_path, poll=True) as app:
        assert app.poller is None
        async with app.run_test(size=(200, 50), notifications=True) as pilot:
            await settle(pilot)
            assert any(n.message.startswith("viewer mode: another poller") for n in app._notifications)
            assert "[viewer: `sitmon poll` writes]" in screen_text(app)
            assert app.main.panes["gaza"].list.items  # it still shows the database


def test_no_poll_never_polls_and_a_free_lock_polls(store: Store, config: Config, db_path: Path) -> None:
    with monitor_app(config, store, db_path, poll=False) as viewer:
        assert viewer.poller is None and viewer.notice is None
    with monitor_app(config, store, db_path, poll=True) as polling:
        assert polling.poller is not None
        assert polling.poller.after_store  # new items are clustered into stories
    PollerLock(db_path).acquire()  # released again when the app closed


async def test_offline_notice_when_every_feed_fails(make_app: AppFactory) -> None:
    app = make_app()
    report = PollReport(
        started=NOW,
        finished=NOW + timedelta(seconds=3),
        feeds=[FeedPollReport(url, title, FeedStatus.FAILING, error="connection refused", error_kind="connect")
               for url, title in FEEDS],
    )  # fmt: skip
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await settle(pilot)
        app.main.post_message(PollFinished(report))  # what the poll worker posts after a cycle
        await settle(pilot)
        notice = "offline: none of 3 feeds could be reached (network down?)"
        assert notice in screen_text(app)
        assert [n.message for n in app._notifications].count(notice) == 1


async def test_panes_go_side_by_side_from_160_columns(make_app: AppFactory) -> None:
    for width, side_by_side in ((159, False), (160, True)):
        app = make_app()
        async with app.run_test(size=(width, 40)) as pilot:
            await settle(pilot)
            shown = [pane_id for pane_id, pane in app.main.panes.items() if pane.display]
            assert (shown == ["gaza", "ukraine", "venezuela"]) is side_by_side, width
            assert app.main.tabs.display is not side_by_side
