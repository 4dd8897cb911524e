"""The items behind one track's negotiation status, best first, with the words that counted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from monitor.config import Config
from monitor.models import Item
from monitor.negotiation import TrackStatus
from monitor.negotiation.engine import analysis_of
from monitor.store import Store
from monitor.tui.format import safe
from monitor.tui.widgets.status_panel import STATUS_COLOURS, badge, clip, when


class EvidenceScreen(Screen[None]):
    """`enter` opens an item; `escape` goes back to the panel."""

    DEFAULT_CSS = """
    EvidenceScreen > #evidence-heading {
        padding: 0 1 1 1;
        background: $boost;
    }
    EvidenceScreen > #evidence-list {
        height: 1fr;
        border: none;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "close", "back"),
    ]

    def __init__(
        self, store: Store, config: Config, clock: Callable[[], datetime], status: TrackStatus
    ) -> None:
        super().__init__()
        self.store = store
        self.config = config
        self.clock = clock
        self.status = status
        self.items: list[Item] = store.get_items(status.evidence)

    def compose(self) -> ComposeResult:
        s = self.status
        heading = Content.assemble(
            ("Evidence ", "bold"),
            (safe(self.config.track(s.track).title), "bold"),
            " — ",
            (safe(s.name), "italic"),
            "\n",
            badge(s.status),
            f" {s.arrow} {s.momentum}  ",
            safe(s.rationale),
        )
        yield Static(heading, id="evidence-heading")
        if self.items:
            yield OptionList(*(self._option(item) for item in self.items), id="evidence-list")
        else:
            yield Static(Content("No items stand behind this status."), id="evidence-empty")
        yield Footer()

    def _option(self, item: Item) -> Option:
        tz = self.config.settings.tz
        track = self.status.track
        mentions = [m for m in analysis_of(self.config, item).mentions if m.track == track]
        parts: list[str | tuple[str, str]] = [
            (when(item.published, tz), "dim"),
            "  ",
            (clip(item.source, 24), "bold"),
            "  ",
            clip(item.title, 200),
        ]
        if mentions:
            parts.append("\n      ")
            seen: set[tuple[str, str]] = set()
            for m in mentions:
                if (m.signal, m.text) in seen:
                    continue
                seen.add((m.signal, m.text))
                parts += [
                    (f"{m.signal} ", STATUS_COLOURS.get(m.signal, "")),
                    (f"“{clip(m.text, 60)}”  ", "dim"),
                ]
        return Option(Content.assemble(*parts), id=item.id)

    def on_mount(self) -> None:
        if self.items:
            self.query_one("#evidence-list", OptionList).focus()

    @on(OptionList.OptionSelected, "#evidence-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        from monitor.tui.screens.item_detail import ItemDetailScreen

        if event.option.id:
            self.app.push_screen(ItemDetailScreen(self.store, self.config, self.clock, event.option.id))

    def action_close(self) -> None:
        self.dismiss()
