"""How the main screen reads: nothing on a track switch, the panes on screen first (a screenful of a
new filter, with the collector held off until it is shown), the negotiation panel after the first rows,
the footer left alone when focus moves between panes."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

import monitor.tui.screens.main as main_screen
from monitor.store import ALL, Store
from monitor.tui.view_data import ViewData
from monitor.tui.widgets.footer import KeysFooter
from monitor.tui.widgets.status_panel import StatusPanel
from tests.tui.conftest import AppFactory
from tests.tui.helpers import screen_text, settle
from tests.tui.seed import NOW, entry, make_config, save

WIDE = (200, 50)
NARROW = (80, 24)


class Statements:
    """Every SQL statement run on any of the store's connections (sqlite3 trace callbacks), with the
    thread that ran it."""

    def __init__(self, store: Store) -> None:
        self.seen: list[tuple[int, str]] = []
        self.on = False
        connect = store._connect

        def traced() -> Any:
            return self.trace(connect())

        store._connect = traced  # type: ignore[method-assign]
        for conn in list(store._all):
            self.trace(conn)

    def trace(self, conn: Any) -> Any:
        conn.set_trace_callback(
            lambda sql: self.seen.append((threading.get_ident(), sql)) if self.on else None
        )
        return conn

    def reads(self) -> list[str]:
        return [sql for _, sql in self.seen if sql.lstrip().upper().startswith(("SELECT", "WITH", "PRAGMA"))]


async def test_a_track_switch_reads_nothing_from_the_store(make_app: AppFactory, store: Store) -> None:
    statements = Statements(store)
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        statements.on = True
        for key in ("1", "2", "3", "a", "1", "0", "2"):
            await pilot.press(key)
            await settle(pilot)
        statements.on = False
        assert app.main.active == "ukraine" and app.main.expanded
        assert statements.reads() == []
        # What is written is the "looked at" time of each pane left, by a worker thread: the UI thread
        # never waits for the database (whose write lock a poller may hold).
        writes = [sql for _, sql in statements.seen if sql not in ("BEGIN IMMEDIATE", "COMMIT")]
        assert writes and all(sql.startswith("INSERT OR REPLACE INTO pane_seen") for sql in writes)
        assert threading.get_ident() not in {thread for thread, _ in statements.seen}


async def test_the_status_panel_starts_after_the_first_rows_are_shown(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    refresh_status = StatusPanel.refresh_status
    apply_view = main_screen.MainScreen._apply_view

    def record_panel(self: StatusPanel) -> None:
        events.append("panel")
        refresh_status(self)

    def record_view(self: main_screen.MainScreen, data: ViewData, *args: Any) -> None:
        events.append("rows")
        apply_view(self, data, *args)

    monkeypatch.setattr(StatusPanel, "refresh_status", record_panel)
    monkeypatch.setattr(main_screen.MainScreen, "_apply_view", record_view)
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert events[0] == "rows" and "panel" in events
        assert app.main.status_panel.statuses  # computed all the same


async def test_panes_on_screen_are_read_and_shown_first(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(main_screen, "FIRST_ROWS", 2)
    parts: list[tuple[list[str], dict[str, int]]] = []
    apply_view = main_screen.MainScreen._apply_view

    def record(self: main_screen.MainScreen, data: ViewData, *args: Any) -> None:
        parts.append((list(data.rows), {pane: len(rows) for pane, rows in data.more.items()}))
        apply_view(self, data, *args)

    monkeypatch.setattr(main_screen.MainScreen, "_apply_view", record)
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:  # narrow: one pane on screen (Gaza)
        await settle(pilot)
        # Gaza first, with a screenful (here 2 rows); the other panes and Gaza's third row next.
        assert parts[:2] == [(["gaza"], {}), (["ukraine", "venezuela", ALL], {"gaza": 1})]
        gaza = app.main.panes["gaza"]
        assert [i.id for i in gaza.list.items] == ["g1", "g2", "g3"] and gaza.shown == 3
        assert [i.id for i in app.main.panes[ALL].list.items][:2] == ["g1", "u1"]
        parts.clear()
        await pilot.press("slash", *"geneva")
        await settle(pilot)
        assert parts[0][0] == ["gaza"] and set(parts[1][0]) == {"ukraine", "venezuela", ALL}
        # Every pane ends up filtered, whichever part it came in.
        assert [i.id for i in app.main.panes["ukraine"].list.items] == ["u2"]
        assert [i.id for i in app.main.panes[ALL].list.items] == ["u2"]
        assert app.main.panes["gaza"].list.items == []
        await pilot.press("enter", "2")
        await settle(pilot)
        assert "search “geneva”: 1" in screen_text(app)


async def test_a_new_filter_reads_a_screenful_of_the_pane_on_screen_first(
    make_app: AppFactory, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [entry(f"m{n:03}", 300 + n, f"Gaza briefing {n}", "") for n in range(120)]
    save(store, 0, rows, {e.id: {"gaza": ["Gaza"]} for e in rows}, NOW - timedelta(hours=1))
    parts: list[tuple[dict[str, int], dict[str, int]]] = []
    apply_view = main_screen.MainScreen._apply_view

    def record(self: main_screen.MainScreen, data: ViewData, *args: Any) -> None:
        parts.append(({p: len(r) for p, r in data.rows.items()}, {p: len(r) for p, r in data.more.items()}))
        apply_view(self, data, *args)

    monkeypatch.setattr(main_screen.MainScreen, "_apply_view", record)
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("1", "slash", *"briefing")
        await settle(pilot)
        lst = app.main.panes["gaza"].list
        screenful = lst.size.height + main_screen.FIRST_ROWS_BELOW
        assert 30 < screenful < 120
        assert parts[-2] == ({"gaza": screenful}, {})
        assert parts[-1][1] == {"gaza": 120 - screenful} and "gaza" not in parts[-1][0]
        assert [i.title for i in lst.items] == [f"Gaza briefing {n}" for n in range(120)]


def record_collector_at_first_reads(
    monkeypatch: pytest.MonkeyPatch, then: Callable[[int], object] = lambda reads: None
) -> list[bool]:
    """Whether the collector ran automatically as each refresh's first part was read (`then` is called
    with the count so far, on the reader thread, before the read)."""
    seen: list[bool] = []
    view_parts = main_screen.view_parts

    def recording(store: Store, query: Any) -> list[Callable[[], ViewData]]:
        parts = view_parts(store, query)
        first = parts[0]

        def read() -> ViewData:
            seen.append(gc.isenabled())
            then(len(seen))
            return first()

        return [read, *parts[1:]]

    monkeypatch.setattr(main_screen, "view_parts", recording)
    return seen


async def test_the_collector_is_held_off_until_a_refresh_shows_its_first_part(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    """The first refresh's read waits here, so a second one can start meanwhile."""
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)  # the first frame with rows: from here the app manages the collector
        assert gc.isenabled()
        seen = record_collector_at_first_reads(monkeypatch, lambda reads: reads == 1 and gate.wait(10))
        app.main.request_refresh(reset=True)
        for _ in range(100):
            if seen:
                break
            await pilot.pause(0.01)
        assert seen == [False] and not gc.isenabled()
        app.main.request_refresh(reset=True)  # supersedes the first, whose end must not undo the hold
        await pilot.pause(0.05)
        assert not gc.isenabled()
        gate.set()
        await settle(pilot)
        assert seen == [False, False]
        assert gc.isenabled() and app.main._gc_held is None
        app.main.request_refresh(reset=True)
    assert gc.isenabled()  # and so when the app stops in the middle of one


async def test_the_collector_is_off_from_start_to_the_first_rows(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = record_collector_at_first_reads(monkeypatch)
    assert gc.isenabled()
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert seen[0] is False  # a full collection here walked every module and style just built
        assert app.main._first_view_shown and gc.isenabled()
    assert gc.isenabled()


async def test_the_collector_comes_back_if_the_first_rows_never_do(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(main_screen, "START_GC_HOLD_LIMIT", 0.2)
    monkeypatch.setattr(main_screen.MainScreen, "_after_first_view", lambda self: None)
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause(0.05)
        assert not gc.isenabled()
        await pilot.pause(0.4)
        assert gc.isenabled()


async def test_a_filter_change_keeps_the_tabs_counts(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("u")  # unread only: a reset read, in two parts
        await settle(pilot)
        text = screen_text(app)
        assert " 1 Gaza 3 " in text and " 2 Ukraine 3 " in text and " a All 10 " in text


async def test_the_footer_is_not_rebuilt_when_focus_moves_between_panes(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuilt: list[int] = []
    recompose = KeysFooter.recompose

    async def counting(self: KeysFooter) -> None:
        rebuilt.append(1)
        await recompose(self)

    monkeypatch.setattr(KeysFooter, "recompose", counting)
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        before = len(rebuilt)
        for key in ("1", "2", "3", "a", "0"):
            await pilot.press(key)
            await settle(pilot)
        assert len(rebuilt) == before
        text = screen_text(app)
        assert "1-9 tracks" in text and "f feeds" in text
        app.main.status_panel.focus()  # the negotiation panel's own keys: now the footer changes
        await settle(pilot)
        assert len(rebuilt) > before
        assert "n analyst status" in screen_text(app)


async def test_feed_health_counts_items_off_the_ui_thread(make_app: AppFactory, store: Store) -> None:
    counted: list[int] = []
    feed_item_counts = store.feed_item_counts

    def record() -> dict[str, int]:
        counted.append(threading.get_ident())
        return feed_item_counts()

    store.feed_item_counts = record  # type: ignore[method-assign]
    app = make_app(config=make_config())
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert counted == []  # the main screen never counts
        await pilot.press("f")
        await settle(pilot)
        assert counted and threading.get_ident() not in counted
        rows = [app.screen.query_one("#feeds-table").get_row_at(n) for n in range(3)]  # type: ignore[attr-defined]
        assert sorted(int(row[4].plain) for row in rows) == [3, 3, 4]
