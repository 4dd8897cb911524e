"""The strip of track names and unread counts shown when panes do not fit side by side."""

from __future__ import annotations

from dataclasses import dataclass

from textual.color import Color
from textual.content import Content
from textual.style import Style
from textual.widget import Widget


@dataclass(frozen=True, slots=True)
class Tab:
    pane_id: str
    key: str
    title: str
    color: str
    unread: int | None
    """None where the store has no unread count (the no-track view)."""


class TrackTabs(Widget):
    """`1 Gaza 12  2 Ukraine 30 ... a All 140`, the active pane highlighted."""

    DEFAULT_CSS = """
    TrackTabs { height: 1; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tabs: list[Tab] = []
        self.active = ""

    def update_tabs(self, tabs: list[Tab], active: str) -> None:
        self.tabs = tabs
        self.active = active
        self.refresh()

    def render(self) -> Content:
        parts: list[str | tuple[str, str | Style]] = []
        for tab in self.tabs:
            color = Color.parse(tab.color)
            if tab.pane_id == self.active:
                style = Style(background=color, foreground=color.get_contrast_text(), bold=True)
            else:
                style = Style(foreground=color)
            count = "" if tab.unread is None else f" {tab.unread}"
            parts.append((f" {tab.key} {tab.title}{count} ", style))
            parts.append(" ")
        return Content.assemble(*parts).truncate(self.size.width, ellipsis=True)
