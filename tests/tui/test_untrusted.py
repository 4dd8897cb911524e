"""Feed text is never markup and never reaches the terminal as control sequences, in any widget."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from monitor.config import FeedConfig
from monitor.store import Store
from monitor.tui.screens.feed_health import FeedHealthScreen
from monitor.tui.screens.item_detail import ItemDetailScreen
from tests.tui.conftest import AppFactory
from tests.tui.helpers import screen_text, settle
from tests.tui.seed import FEEDS, NOW, entry, make_config

MARKUP_TITLES = {
    "h1": "[bold red]x[/] famine declared",
    "h2": "[@click=app.quit]q[/] famine in Gaza",
    "h3": "Talks stall [/ famine fears grow",
    "h4": "[link=file:///etc/passwd]famine file[/link]",
}
CONTROL_TITLE = "Evil\x1b]52;c;cGF3bmVk\x07 clipboard\x1b[2J wipe\x1b]8;;file:///x\x1b\\ link\x9b31m red"
CONTROL_SHOWN = "Evil clipboard wipe link red"
HOSTILE_SOURCE = "[b]Bold[/b] Source\x1b[5m"
HOSTILE_FEED_TITLE = "[@click=app.quit]Feed[/] \x1b]0;title\x07Gazette"
HOSTILE_ERROR = "HTTP 500 [red]boom[/red] \x1b[31m[/"


def seed_hostile(store: Store) -> None:
    """Write hostile text straight through the store, as if ingest-time cleaning had missed it."""
    url = FEEDS[0][0]
    store.sync_feeds([FeedConfig(url=u, title=HOSTILE_FEED_TITLE if u == url else t) for u, t in FEEDS], NOW)
    entries = [entry(item_id, n + 1, title, f"Summary of {title} \x1b[1m[i]x[/i]") for n, (item_id, title) in
               enumerate(MARKUP_TITLES.items())]  # fmt: skip
    entries.append(entry("h5", 9, CONTROL_TITLE, "ok"))
    tags = {e.id: {"gaza": ["Gaza", "[/"]} for e in entries}
    state = store.feed_state(url)
    assert state is not None
    store.save_poll(replace(state, last_polled=NOW, last_success=NOW), entries=entries, tags=tags,
                    source=HOSTILE_SOURCE, now=NOW)  # fmt: skip
    failing = store.feed_state(FEEDS[1][0])
    assert failing is not None
    from monitor.models import FeedStatus

    store.save_poll(replace(failing, status=FeedStatus.FAILING, error_count=1, error_kind="http-status",
                            last_error=HOSTILE_ERROR, last_polled=NOW), now=NOW)  # fmt: skip


def assert_no_controls(text: str) -> None:
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "]52;" not in text and "]8;;" not in text


async def test_hostile_text_shows_literally_everywhere(make_app: AppFactory, store: Store) -> None:
    seed_hostile(store)
    app = make_app(config=make_config(bell=False))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)

        # Panes: every title exactly as written, markup and all.
        text = screen_text(app)
        for title in MARKUP_TITLES.values():
            assert title in text
        assert CONTROL_SHOWN in text
        assert "[b]Bold[/b] Sou" in text  # the source column, truncated but literal
        assert_no_controls(text)

        # Clicking the [@click=app.quit] row does nothing but move the cursor.
        pane = app.main.panes["gaza"]
        row = [item.id for item in pane.list.items].index("h2")
        await pilot.click(pane.list, offset=(30, row))
        await settle(pilot)
        assert app.is_running and pane.list.current is not None and pane.list.current.id == "h2"

        # Detail: title, source, matched terms and summary are literal too.
        for item_id, title in [*MARKUP_TITLES.items(), ("h5", CONTROL_SHOWN)]:
            pane.list.go_to_item(item_id)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ItemDetailScreen)
            detail = screen_text(app)
            assert title in detail, item_id
            assert "[b]Bold[/b] Source" in detail and "matched: Gaza, [/" in detail
            assert item_id == "h5" or f"Summary of {title} [i]x[/i]" in detail
            assert_no_controls(detail)
            await pilot.press("escape")
            await settle(pilot)

        # Feed health: feed titles and server errors are untrusted as well.
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FeedHealthScreen)
        health = screen_text(app)
        assert "[@click=app.quit]Feed[/] Gazette" in health
        assert "HTTP 500 [red]boom[/red] [/" in health
        assert_no_controls(health)
        await pilot.press("escape")
        await settle(pilot)
        assert app.is_running


async def test_alert_toasts_show_hostile_titles_literally(make_app: AppFactory, db_path: Path) -> None:
    from textual.widgets._toast import Toast

    app = make_app(watch_interval=0.05)
    async with app.run_test(size=(200, 50), notifications=True) as pilot:
        await settle(pilot)
        # Written by "another poller" after start, so the alert term "famine" raises toasts.
        daemon = Store(db_path)
        seed_hostile(daemon)
        daemon.close()
        for _ in range(100):
            if any(n.title == "4 alerts" for n in app._notifications):
                break
            await pilot.pause(0.05)
        await settle(pilot)
        [toast] = [toast.render().plain for toast in app.screen.query(Toast)]
        lines = toast.splitlines()
        assert lines[0] == "4 alerts" and lines[-1] == "and 1 more"
        for line in lines[1:-1]:
            assert line.startswith("Gaza “famine”: ")
            assert any(title in line for title in MARKUP_TITLES.values()), line
            assert line.endswith("([b]Bold[/b] Source)")
        assert_no_controls(toast)
        assert_no_controls(screen_text(app))
        assert app.is_running
