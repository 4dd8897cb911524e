"""Live behaviour: polling in the background, watching another poller's database, alerts, paging, marks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message

from monitor.poller import Poller
from monitor.store import Store
from monitor.tui.app import MonitorApp
from monitor.tui.messages import FeedPolled, PollFinished, PollStarted
from tests.http_fixtures import Route, serve
from tests.tui.conftest import AppFactory, Clock
from tests.tui.helpers import screen_text, settle
from tests.tui.seed import NOW, entry, make_config, save

WIDE = (200, 50)


def rss(count: int, first: int = 0) -> bytes:
    """`count` Gaza items numbered from `first`, newest (highest number) first, one minute apart."""
    items = "".join(
        f"<item><title>Gaza update {n}: aid talks in Rafah</title><link>https://news.example/live/{n}</link>"
        f"<guid>live-{n}</guid><pubDate>{format_datetime(NOW - timedelta(minutes=200 - n), usegmt=True)}</pubDate>"
        f"<description>Report number {n}.</description></item>"
        for n in reversed(range(first, first + count))
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Live wire</title>{items}'
            f"</channel></rss>").encode()  # fmt: skip


class Recorder:
    """Collects the poller's messages as the main screen receives them."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, message: Message) -> None:
        # The hook sees a message at each node it bubbles through: count each one once.
        if isinstance(message, PollStarted | FeedPolled | PollFinished) and not any(
            m is message for m in self.messages
        ):
            self.messages.append(message)

    def count(self, kind: type[Message]) -> int:
        return sum(isinstance(m, kind) for m in self.messages)


async def wait_for(pilot: Any, condition: Any, seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


@pytest.fixture
def live_store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "live.db")
    yield s
    s.close()


async def test_new_items_arriving_during_a_poll_keep_the_cursor_on_its_item(
    live_store: Store, clock: Clock
) -> None:
    body = {"gaza": rss(60)}
    with serve({"/gaza": lambda request: Route(body=body["gaza"])}) as server:
        config = make_config(((server.url("/gaza"), "Live wire"),), poll_interval=600)
        poller = Poller(config, live_store, clock=clock, rand=random.Random(1))
        recorder = Recorder()
        app = MonitorApp(config, live_store, clock=clock, poller=poller, watch_interval=None)
        try:
            async with app.run_test(size=(80, 24), message_hook=recorder) as pilot:
                await wait_for(pilot, lambda: recorder.count(PollFinished) == 1)
                await settle(pilot)
                pane = app.main.panes["gaza"]
                assert len(pane.list.items) == 60
                await pilot.press(
                    "pagedown", *["down"] * (25 - pane.list.scrollable_content_region.height + 1)
                )
                await settle(pilot)
                reading = pane.list.current
                assert reading is not None and reading.id == pane.list.items[25].id
                assert pane.list.rows_above_view > 0  # scrolled: the reader is well into the list
                line_on_screen = pane.list.cursor - pane.list.rows_above_view
                before = screen_text(app).splitlines()

                body["gaza"] = rss(65)  # five newer items at the top
                await pilot.press("r")
                await wait_for(pilot, lambda: recorder.count(PollFinished) == 2)
                await settle(pilot)

                assert recorder.count(PollStarted) == 2
                assert len(pane.list.items) == 65
                assert pane.list.current is not None and pane.list.current.id == reading.id
                assert pane.list.cursor == 30
                assert pane.list.cursor - pane.list.rows_above_view == line_on_screen
                after = screen_text(app).splitlines()
                # The rows the reader was looking at have not moved on the screen (the scrollbar has).
                assert [line[:-1] for line in after[2:20]] == [line[:-1] for line in before[2:20]]
                assert "▲ 5 newer" in after[1]
        finally:
            poller.close()


async def test_viewer_picks_up_what_another_poller_writes_and_alerts_once(
    make_app: AppFactory, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bells: list[int] = []
    app = make_app(config=make_config(bell=True), watch_interval=0.05)
    monkeypatch.setattr(app, "bell", lambda: bells.append(1))
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert app.main.panes["gaza"].unread == 3
        # Another process (a `sitmon poll` daemon) writes through its own connection.
        daemon = Store(db_path)
        try:
            fresh = entry(
                "g4", 1, "UN declares famine in Gaza City", "Aid agencies said famine conditions..."
            )
            save(daemon, 0, [fresh], {"g4": {"gaza": ["Gaza"]}}, NOW)
            await wait_for(pilot, lambda: "g4" in [i.id for i in app.main.panes["gaza"].list.items])
            await settle(pilot)
            alerts = [n for n in app._notifications if n.title == "Gaza alert"]
            assert len(alerts) == 1 and "“famine”: UN declares famine in Gaza City" in alerts[0].message
            assert bells == [1]
            # A later change does not raise the same alert again.
            save(daemon, 1, [entry("u9", 2, "Kyiv talks", "")], {"u9": {"ukraine": ["Kyiv"]}}, NOW)
            await wait_for(pilot, lambda: "u9" in [i.id for i in app.main.panes["ukraine"].list.items])
            await settle(pilot)
            assert len([n for n in app._notifications if n.title == "Gaza alert"]) == 1
            assert bells == [1]
            assert app.main.panes["gaza"].list.items[0].id == "g4"
        finally:
            daemon.close()


async def test_rows_that_arrived_since_the_pane_was_last_seen_are_marked(
    make_app: AppFactory, store: Store
) -> None:
    store.set_pane_seen("gaza", NOW - timedelta(minutes=30))
    save(store, 0, [entry("g5", 3, "Rafah crossing reopens", "")], {"g5": {"gaza": ["Rafah"]}},
         NOW - timedelta(minutes=10))  # fmt: skip
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        pane = app.main.panes["gaza"]
        width = pane.list.size.width
        marks = {item.id: pane.list.row_content(item, width).plain[0] for item in pane.list.items}
        assert marks == {"g5": "+", "g1": "•", "g2": "•", "g3": "•"}
        await pilot.press("2")  # moving to another pane counts as having looked
        await settle(pilot)
        assert store.pane_seen("gaza") == NOW
        assert pane.list.row_content(pane.list.items[0], width).plain[0] == "•"


async def test_only_a_window_of_rows_loads_and_older_rows_page_in(
    store: Store, config: Any, clock: Clock
) -> None:
    many = [entry(f"p{n:03}", 300 + n, f"Gaza briefing {n}", "") for n in range(120)]
    save(store, 0, many, {e.id: {"gaza": ["Gaza"]} for e in many}, NOW - timedelta(hours=1))
    app = MonitorApp(make_config(pane_rows=25), store, clock=clock, watch_interval=None)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        pane = app.main.panes["gaza"]
        assert len(pane.list.items) == 25
        for _ in range(8):
            await pilot.press("end")
            await settle(pilot)
        loaded = [item.id for item in pane.list.items]
        assert len(loaded) == 123 and len(set(loaded)) == 123
        published = [item.published for item in pane.list.items]
        assert published == sorted(published, reverse=True)
        assert pane.list.exhausted
        # A reload keeps everything the reader paged through, cursor included.
        current = pane.list.current
        app.main.request_refresh()
        await settle(pilot)
        assert len(pane.list.items) == 123 and pane.list.current == current
