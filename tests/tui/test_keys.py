"""Every key of the main screen, driven through Pilot against the real app and a real SQLite file."""

from __future__ import annotations

import asyncio
import sys
import webbrowser
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.config import build_config, default_tables
from monitor.models import FeedStatus
from monitor.store import ALL, UNTRACKED, Store
from monitor.tui.app import MonitorApp
from monitor.tui.keys import MAIN_KEYS
from monitor.tui.screens.feed_health import FeedHealthScreen
from monitor.tui.screens.help import HelpScreen
from monitor.tui.screens.item_detail import ItemDetailScreen
from monitor.tui.screens.main import MainScreen
from tests.tui.conftest import AppFactory
from tests.tui.helpers import screen_text, settle
from tests.tui.seed import FEEDS, NOW, entry, save

WIDE = (200, 50)
NARROW = (80, 24)


def ids(app: MonitorApp, pane: str) -> list[str]:
    return [item.id for item in app.main.panes[pane].list.items]


def visible_panes(app: MonitorApp) -> list[str]:
    return [pane_id for pane_id, pane in app.main.panes.items() if pane.display]


def toasts(app: MonitorApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_opens_with_the_database_contents_newest_first(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert ids(app, "gaza") == ["g1", "g2", "g3"]
        assert ids(app, "ukraine") == ["u1", "u2", "u3"]
        assert ids(app, "venezuela") == ["v1", "v2"]
        assert visible_panes(app) == ["gaza", "ukraine", "venezuela"]
        text = screen_text(app)
        assert (
            "1 Gaza  3 unread" in text and "2 Ukraine  3 unread" in text and "3 Venezuela  2 unread" in text
        )
        assert "Mediators in Cairo press Hamas" in text
        assert "11:50" in text  # local time (UTC in tests) of the newest Gaza item
        assert "24h ▁" in text  # the sparkline of items per hour
        assert "feeds 3 ok" in text
        assert isinstance(app.screen, MainScreen) and app.screen.focused is app.main.panes["gaza"].list


async def test_digits_expand_a_track_and_zero_goes_back(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert visible_panes(app) == ["ukraine"]
        assert app.screen.focused is app.main.panes["ukraine"].list
        await pilot.press("0")
        await settle(pilot)
        assert visible_panes(app) == ["gaza", "ukraine", "venezuela"]
        assert app.screen.focused is app.main.panes["ukraine"].list
        await pilot.press("7")
        await settle(pilot)
        assert any("no track 7" in t for t in toasts(app))


async def test_a_fourth_track_gets_a_fourth_pane_and_key(make_app: AppFactory, store: Store) -> None:
    extra = {
        "settings": {"timezone": "UTC"},
        "feeds": [{"url": url, "title": title} for url, title in FEEDS],
        "tracks": {"sudan": {"title": "Sudan", "color": "#98c379", "terms": {"Sudan": 2.0, "Khartoum": 2.0}}},
    }
    config = build_config([*default_tables(), ("<test>", extra)])
    save(store, 0, [entry("s1", 5, "Khartoum talks resume", "Sudan's army and the RSF met.")],
         {"s1": {"sudan": ["Khartoum", "Sudan"]}}, NOW)  # fmt: skip
    app = make_app(config=config)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert visible_panes(app) == ["gaza", "ukraine", "venezuela", "sudan"]
        assert "4 Sudan  1 unread" in screen_text(app)
        await pilot.press("4")
        await settle(pilot)
        assert visible_panes(app) == ["sudan"] and ids(app, "sudan") == ["s1"]


async def test_a_opens_the_all_view_and_again_the_untracked_items(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert visible_panes(app) == [ALL]
        assert len(ids(app, ALL)) == 10
        text = screen_text(app)
        assert "All  10 unread" in text and "Gaz" in text  # rows carry a track badge
        await pilot.press("a")
        await settle(pilot)
        assert app.main.panes[ALL].scope == UNTRACKED
        assert ids(app, ALL) == ["x1", "x2"]
        assert "Other (no track)" in screen_text(app)


async def test_slash_searches_every_pane_as_you_type_and_escape_clears(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await settle(pilot)
        assert app.screen.focused is app.main.search_input
        await pilot.press(*"cair")
        await settle(pilot)
        # FTS prefix match on the last word, across every pane at once.
        assert ids(app, "gaza") == ["g1"]
        assert ids(app, "ukraine") == []
        assert ids(app, "venezuela") == []
        assert ids(app, ALL) == ["g1"]
        assert "search “cair”: 1" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.focused is app.main.panes["gaza"].list
        await pilot.press("escape")
        await settle(pilot)
        assert app.main.search_text == "" and not app.main.search_input.display
        assert ids(app, "gaza") == ["g1", "g2", "g3"] and len(ids(app, "ukraine")) == 3


async def test_enter_opens_the_detail_and_marks_the_item_read(make_app: AppFactory, store: Store) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ItemDetailScreen)
        text = screen_text(app)
        assert "Mediators in Cairo press Hamas and Israel on Phase Two" in text
        assert "Harbor Wire" in text
        assert "2026-11-20 11:50 UTC" in text
        assert "Gaza  matched: Hamas, Rafah" in text
        assert "Talks on the Rafah crossing resume." in text
        assert "https://news.example/g1" in text
        assert "No other outlet carries this story yet." in text
        assert store.get_item("g1").read  # type: ignore[union-attr]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.main.panes["gaza"].unread == 2


async def test_o_opens_http_links_only_and_never_anything_else(
    make_app: AppFactory, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def fake_open(url: str, *args: object, **kwargs: object) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(webbrowser, "open", fake_open)
    for n, link in enumerate(("javascript:alert(1)", "file:///etc/passwd")):
        hostile = replace(entry(f"g9{n}", 1 + n, f"Hostile link {n}", ""), link=link)
        save(store, 0, [hostile], {hostile.id: {"gaza": ["Gaza"]}}, NOW)
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert ids(app, "gaza")[:2] == ["g90", "g91"]
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("down", "o")
        await settle(pilot)
        assert opened == []
        assert sum("refused to open a link that is not http(s)" in t for t in toasts(app)) == 2
        await pilot.press("down", "o")
        await settle(pilot)
        assert opened == ["https://news.example/g1"]


async def test_y_copies_the_link(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("down", "y")
        await settle(pilot)
        assert app.clipboard == "https://news.example/g2"
        assert any("copied https://news.example/g2" in t for t in toasts(app))


async def test_m_toggles_read_and_reading_marks_the_story_read(make_app: AppFactory, store: Store) -> None:
    calls: list[str] = []
    real = store.mark_cluster_read

    def spy(item_id: str, read: bool = True) -> int:
        calls.append(item_id)
        return real(item_id, read)

    store.mark_cluster_read = spy  # type: ignore[method-assign]
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert calls == ["g1"] and store.get_item("g1").read  # type: ignore[union-attr]
        assert app.main.panes["gaza"].unread == 2 and app.main.panes["gaza"].list.items[0].read
        await pilot.press("m")
        await settle(pilot)
        assert not store.get_item("g1").read  # type: ignore[union-attr]
        assert app.main.panes["gaza"].unread == 3


async def test_shift_m_marks_only_this_pane_read(make_app: AppFactory, store: Store) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("M")
        await settle(pilot)
        counts = store.unread_counts(["gaza", "ukraine", "venezuela"])
        assert counts["gaza"] == 0 and counts["ukraine"] == 3 and counts["venezuela"] == 2
        assert app.main.panes["gaza"].unread == 0
        assert any("3 items marked read" in t for t in toasts(app))


async def test_s_stars_and_unstars(make_app: AppFactory, store: Store) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("down", "s")
        await settle(pilot)
        assert store.get_item("g2").starred  # type: ignore[union-attr]
        assert "★" in screen_text(app)
        await pilot.press("s")
        await settle(pilot)
        assert not store.get_item("g2").starred  # type: ignore[union-attr]


async def test_u_shows_unread_only(make_app: AppFactory, store: Store) -> None:
    store.set_read(["g2"])
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert ids(app, "gaza") == ["g1", "g2", "g3"]
        await pilot.press("u")
        await settle(pilot)
        assert ids(app, "gaza") == ["g1", "g3"]
        assert "unread only" in screen_text(app)
        await pilot.press("u")
        await settle(pilot)
        assert ids(app, "gaza") == ["g1", "g2", "g3"]


async def test_r_in_viewer_mode_says_who_polls(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert any("viewer mode" in t for t in toasts(app))


async def test_f_shows_feed_health(make_app: AppFactory, store: Store) -> None:
    url = FEEDS[1][0]
    state = store.feed_state(url)
    assert state is not None
    failing = replace(state, status=FeedStatus.FAILING, error_count=2, error_kind="timeout",
                      last_error="no answer within 30 s", last_polled=NOW)  # fmt: skip
    store.save_poll(failing, now=NOW)
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FeedHealthScreen)
        text = screen_text(app)
        assert "3 feeds · 2 ok · 1 failing" in text
        first = text.index("Meridian Ledger")  # failing feeds are listed first
        assert first < text.index("Harbor Wire") and first < text.index("Coastline Dispatch")
        assert "timeout: no answer within 30 s" in text
        assert "12:00" in text  # last poll of the failing feed, in local time
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)


async def test_d_without_the_digest_module_says_so(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "monitor.digest", None)  # import fails as if the module were absent
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert any("digest not available" in t for t in toasts(app))


async def test_d_writes_the_digest_and_says_where(make_app: AppFactory, tmp_path: Path) -> None:
    digest = pytest.importorskip("monitor.digest")
    if not hasattr(digest, "write_daily_digest"):
        pytest.skip("monitor.digest has no write_daily_digest yet")
    from tests.tui.seed import make_config

    app = make_app(config=make_config(digest_dir=str(tmp_path / "digests")))
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot, rounds=5)
        written = [t for t in toasts(app) if t.startswith("digest written to ")]
        assert written, toasts(app)
        path = Path(written[0].removeprefix("digest written to "))
    assert await asyncio.to_thread(path.is_file)


async def test_p_toggles_the_status_panel(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        panel = app.main.status_panel
        assert panel.display
        await pilot.press("p")
        await settle(pilot)
        assert not panel.display
        await pilot.press("p")
        await settle(pilot)
        assert panel.display


async def test_question_mark_lists_every_key(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for key in MAIN_KEYS:
            assert key.help in text, key
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)


async def test_every_key_is_in_the_command_palette(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        commands = {c.help for c in app.get_system_commands(app.screen)}
        for key in MAIN_KEYS:
            if key.palette and key.action != "app.quit":
                assert any(key.help in help for help in commands), key
        assert any("Focus and expand the Ukraine pane" in help for help in commands)
        assert "Analyst status: Venezuela" in {c.title for c in app.get_system_commands(app.screen)}
        assert "Quit" in {c.title for c in app.get_system_commands(app.screen)}
        # And they work from the palette itself.
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"feed health")
        await settle(pilot, rounds=5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FeedHealthScreen)


async def test_q_quits(make_app: AppFactory, store: Store) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    # Leaving records that the pane was looked at, for next session's "new" marks.
    assert store.pane_seen("gaza") == NOW


async def test_narrow_terminal_shows_one_pane_with_tabs(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        assert visible_panes(app) == ["gaza"]
        assert not app.main.status_panel.display
        text = screen_text(app)
        assert " 1 Gaza 3 " in text and " 2 Ukraine 3 " in text and " a All 10 " in text
        await pilot.press("3")
        await settle(pilot)
        assert visible_panes(app) == ["venezuela"]
        await pilot.press("0")
        await settle(pilot)
        assert visible_panes(app) == ["gaza", "ukraine", "venezuela"]  # stacked overview
        await pilot.press("p")
        await settle(pilot)
        assert app.main.status_panel.display and not app.query_one("#panes").display


async def test_detail_keys_star_read_copy_and_open(
    make_app: AppFactory, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def fake_open(url: str, *args: object, **kwargs: object) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(webbrowser, "open", fake_open)
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ItemDetailScreen)
        await pilot.press("s", "m", "y", "o")
        await settle(pilot)
        item = store.get_item("g1")
        assert item is not None and item.starred and not item.read
        assert app.clipboard == "https://news.example/g1" and opened == ["https://news.example/g1"]
        assert "★ starred" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.main.panes["gaza"].list.items[0].starred  # the pane reloaded on the way back
