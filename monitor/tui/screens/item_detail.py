"""One item in full: title, source, time, tracks and matched terms, summary, link, other outlets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.style import Style
from textual.widgets import Footer, Static

from monitor.config import Config
from monitor.models import Item
from monitor.store import Store, StoreError
from monitor.tui.format import long_time, safe, safe_block, short_time


class ItemDetailScreen(Screen[None]):
    """Reads the item afresh from the store; every piece of feed text is shown as plain Content."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "close", "back"),
        Binding("o", "open_link", "browser"),
        Binding("y", "copy_link", "copy link"),
        Binding("s", "toggle_star", "star"),
        Binding("m", "toggle_read", "read"),
    ]

    def __init__(self, store: Store, config: Config, clock: Callable[[], datetime], item_id: str) -> None:
        super().__init__()
        self.store = store
        self.config = config
        self.clock = clock
        self.item_id = item_id
        self.item: Item | None = store.get_item(item_id)
        self.body = Static(id="detail-body")
        self.outlets = Static(id="detail-outlets")

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield self.body
            yield self.outlets
        yield Footer()

    def on_mount(self) -> None:
        self.render_item()
        self.query_one("#detail").focus()

    def render_item(self) -> None:
        item = self.item
        if item is None:
            self.body.update(Content("This item is no longer in the database."))
            return
        self.body.update(self.item_content(item))
        self.outlets.update(self.outlets_content(item))

    def item_content(self, item: Item) -> Content:
        tz = self.config.settings.tz
        dim = Style(dim=True)
        bold = Style(bold=True)
        titles = {t.id: t for t in self.config.tracks}
        when = long_time(item.published, tz) + (
            " (date estimated: first seen)" if item.date_estimated else ""
        )
        state = ["unread" if not item.read else "read"] + (["★ starred"] if item.starred else [])
        parts: list[str | tuple[str, str | Style]] = [
            (safe(item.title), Style(bold=True, underline=False)),
            "\n\n",
            ("Source     ", dim),
            (safe(item.source), bold),
            "\n",
            ("Published  ", dim),
            when,
            "\n",
            ("Status     ", dim),
            ", ".join(state),
            "\n",
            ("Tracks     ", dim),
        ]
        if item.matched:
            for n, (track_id, terms) in enumerate(sorted(item.matched.items())):
                track = titles.get(track_id)
                if n:
                    parts.append("\n           ")
                color = track.color if track else "#a0a0a0"
                parts.append((track.title if track else track_id, f"bold {color}"))
                parts.append(("  matched: ", dim))
                parts.append(", ".join(safe(t) for t in terms) or "—")
        else:
            parts.append(("none (matched no track)", dim))
        parts += ["\n", ("Link       ", dim), (safe(item.link) if item.link else "—", "underline"), "\n\n"]
        parts.append(safe_block(item.summary) or "(no summary)")
        return Content.assemble(*parts)

    def outlets_content(self, item: Item) -> Content:
        try:
            story = [other for other in self.store.cluster_items(item.cluster_id) if other.id != item.id]
        except StoreError:
            story = []
        if not story:
            return Content.assemble(("\nNo other outlet carries this story yet.", Style(dim=True)))
        tz = self.config.settings.tz
        now = self.clock()
        parts: list[str | tuple[str, str | Style]] = [
            (f"\nAlso reported by {len(story)}:\n", Style(bold=True))
        ]
        for other in story:
            parts += [
                (short_time(other.published, tz, now), Style(dim=True)),
                "  ",
                (safe(other.source), Style(bold=True)),
                "  ",
                safe(other.title),
                "\n",
            ]
        return Content.assemble(*parts)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_open_link(self) -> None:
        from monitor.tui.screens.main import open_link

        if self.item is not None:
            open_link(self, self.item.link)

    def action_copy_link(self) -> None:
        from monitor.tui.screens.main import copy_link

        if self.item is not None:
            copy_link(self, self.item.link)

    def action_toggle_star(self) -> None:
        if self.item is None:
            return
        self.store.set_starred(self.item.id, not self.item.starred)
        self.item = replace(self.item, starred=not self.item.starred)
        self.render_item()

    def action_toggle_read(self) -> None:
        if self.item is None:
            return
        if self.item.read:
            self.store.set_read([self.item.id], False)
        else:
            self.store.mark_cluster_read(self.item.id)
        self.item = replace(self.item, read=not self.item.read)
        self.render_item()
