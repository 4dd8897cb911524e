"""How the lists draw: rows built straight as segments look exactly as `row_content` says, and new rows
repaint the list without laying out the whole screen again."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from textual.strip import Strip
from textual.widget import Widget

import monitor.tui.screens.main as main_screen
from monitor.models import Item
from monitor.store import ALL, Store
from monitor.tui.view_data import ViewData
from tests.tui.conftest import AppFactory
from tests.tui.helpers import screen_text, settle
from tests.tui.seed import NOW, entry, save

WIDE = (200, 50)

TITLES = (
    "Mediators in Cairo press Hamas and Israel on Phase Two",
    "",
    "A headline long enough to be cut at the width of any pane it is shown in, " * 3,
    "停火谈判在开罗恢复，双方代表团抵达会场并开始新一轮磋商" * 2,  # wide characters: two cells each
    "Emoji 🕊️ and combining é marks in a title",
)
SOURCES = ("Harbor Wire", "", "A source name far too long for its column", "日本経済新聞社の国際報道部")


def variants(base: Item) -> list[Item]:
    """Every look a row can take: new, unread, read, starred, clustered, with and without tracks."""
    out = []
    for n, (title, source) in enumerate((t, s) for t in TITLES for s in SOURCES):
        out.append(
            replace(
                base,
                id=f"v{n}",
                title=title,
                source=source,
                read=n % 2 == 0,
                starred=n % 3 == 1,
                cluster_size=(1, 3, 120, 1, 12)[n % 5],
                tracks=(("gaza",), (), ("nowhere", "ukraine"), ("nowhere",))[n % 4],
                fetched_at=NOW - timedelta(minutes=5 if n % 7 < 2 else 90),
                published=NOW - timedelta(hours=n * 7),
            )
        )
    return out


def cells(strip: Strip) -> list[tuple[str, object]]:
    """The strip as (character, style) per character: what the terminal is sent, however segmented."""
    return [(char, segment.style) for segment in strip for char in segment.text]


async def test_rows_are_drawn_exactly_as_row_content_says(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        for pane_id in ("gaza", ALL):  # the All view shows track badges
            lst = app.main.panes[pane_id].list
            lst.new_after = NOW - timedelta(minutes=30)
            items = variants(lst.items[0])
            for base in (lst.get_visual_style(), lst.get_visual_style("item-list--cursor")):
                for width in (*range(0, 40), 61, 80, 117, 156, 199):
                    for item in items:
                        expected = Strip(lst.row_content(item, width).render_segments(base), width)
                        drawn = lst._row_strip(item, width, base)
                        assert drawn.cell_length == width == expected.cell_length
                        assert cells(drawn) == cells(expected), (pane_id, width, item.title, item.source)


@pytest.fixture
def many(store: Store) -> Store:
    """120 Gaza items (60 of them about a ceasefire) on top of the seeded ones."""
    rows = [
        entry(f"m{n:03}", 300 + n, f"Gaza {'ceasefire' if n % 2 else 'aid'} briefing {n}", "")
        for n in range(120)
    ]
    save(store, 0, rows, {e.id: {"gaza": ["Gaza"]} for e in rows}, NOW - timedelta(hours=1))
    return store


async def test_a_search_repaints_the_list_without_laying_out_the_screen(
    make_app: AppFactory, many: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    layouts: list[str] = []
    """Widgets that asked for a layout while the rows of a read were handed to the panes."""
    applying = [False]
    refresh = Widget.refresh
    apply_view = main_screen.MainScreen._apply_view

    def record(self: Widget, *regions: object, layout: bool = False, **kwargs: object) -> Widget:
        if layout and applying[0]:
            layouts.append(type(self).__name__)
        return refresh(self, *regions, layout=layout, **kwargs)  # type: ignore[arg-type]

    def apply(self: main_screen.MainScreen, data: ViewData, *args: Any) -> None:
        applying[0] = True
        try:
            apply_view(self, data, *args)
        finally:
            applying[0] = False

    monkeypatch.setattr(Widget, "refresh", record)
    monkeypatch.setattr(main_screen.MainScreen, "_apply_view", apply)

    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("1", "slash", *"ceasefire")
        await settle(pilot)
        lst = app.main.panes["gaza"].list
        await pilot.press("escape")
        await settle(pilot)
        assert len(lst.items) == 123 and lst.show_vertical_scrollbar
        layouts.clear()
        await pilot.press("slash", *"ceasefire")
        await settle(pilot)
        # 60 rows: still more than the pane's height, so the bar stays and nothing else moves.
        assert len(lst.items) == 60 and lst.show_vertical_scrollbar
        assert layouts == []
        assert lst.virtual_size.height == 60 and lst.vertical_scrollbar.window_virtual_size == 60
        assert lst.max_scroll_y == 60 - lst.scrollable_content_region.height
        await pilot.press("enter", "end")  # the last row can be reached and is drawn
        await settle(pilot)
        assert lst.cursor == 59 and "ceasefire briefing 119" in screen_text(app)
        # Six rows: the bar goes, and that takes a layout (the rows get its column).
        layouts.clear()
        await pilot.press("slash", *"ceasefire briefing 11")
        await settle(pilot)
        assert [i.title for i in lst.items] == [
            f"Gaza ceasefire briefing {n}" for n in (11, *range(111, 120, 2))
        ]
        assert "ItemList" in layouts and not lst.show_vertical_scrollbar


async def test_rows_a_page_already_added_do_not_end_the_pane(make_app: AppFactory, many: Store) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        pane = app.main.panes["gaza"]
        window, rest = pane.list.items[:50], pane.list.items[50:]
        pane.list.set_items(window)
        assert pane.list.append_items(rest) == len(rest)  # a page of older rows came first
        pane.extend(rest)  # then the second part of the refresh, with the same rows
        assert not pane.list.exhausted and len(pane.list.items) == len(window) + len(rest)
