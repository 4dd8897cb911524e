"""One pane: a title bar (name, unread count, 24 h sparkline) over the pane's rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, tzinfo

from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Vertical
from textual.content import Content
from textual.style import Style
from textual.widget import Widget

from monitor.models import Item
from monitor.tui.format import sparkline
from monitor.tui.widgets.item_list import ItemList, TrackBadge


class PaneHeader(Widget):
    """The pane's title bar; rebuilt from plain values, never from feed text."""

    DEFAULT_CSS = """
    PaneHeader { height: 1; }
    """

    def __init__(self, pane: TrackPane) -> None:
        super().__init__()
        self.pane = pane

    def render(self) -> Content:
        pane = self.pane
        width = self.size.width
        name_style = Style(foreground=Color.parse(pane.color), bold=True)
        left: list[str | tuple[str, str | Style]] = []
        if pane.number:
            left.append((f"{pane.number} ", Style(dim=True)))
        left.append((pane.title, name_style))
        # The store counts unread items per track and overall, not for "no track": show rows there.
        count = f"{pane.shown} shown" if pane.unread is None else f"{pane.unread} unread"
        left.append((f"  {count}", Style()))
        flags = []
        if pane.search:
            flags.append(f"search “{pane.search}”: {pane.shown}")
        if pane.unread_only:
            flags.append("unread only")
        if pane.newer_above:
            flags.append(f"▲ {pane.newer_above} newer")
        for flag in flags:
            left.append(("  ·  ", Style(dim=True)))
            left.append((flag, Style(italic=True)))
        head = Content.assemble(*left)
        spark = sparkline(pane.hourly)
        # The sparkline goes right-aligned when it fits; its "24h" label only when that fits too.
        for label in ("24h ", ""):
            gap = width - head.cell_length - len(label) - len(spark)
            if pane.hourly and gap >= 2:
                return Content.assemble(head, " " * gap, (label, Style(dim=True)), (spark, name_style))
        return head.truncate(width, ellipsis=True)


class TrackPane(Vertical):
    """A track (or the All view) as a header and a line-drawn list of its newest items."""

    def __init__(
        self,
        pane_id: str,
        *,
        scope: str,
        title: str,
        color: str,
        number: int | None,
        tz: tzinfo,
        clock: Callable[[], datetime],
        badges: Mapping[str, TrackBadge] | None = None,
        classes: str = "",
    ) -> None:
        super().__init__(id=f"pane-{pane_id}", classes=classes)
        self.pane_id = pane_id
        self.scope = scope
        self.title = title
        self.color = color
        self.number = number
        self.unread: int | None = 0
        self.hourly: list[int] = []
        self.search = ""
        self.unread_only = False
        self.newer_above = 0
        """Rows that arrived above the reader's position since they last went to the top."""
        self.shown = 0
        self.generation = -1
        """The filter generation of the rows shown (the screen's counter; -1 before the first read)."""
        self.header = PaneHeader(self)
        self.list = ItemList(tz=tz, clock=clock, badges=badges, id=f"list-{pane_id}")

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.list

    def show(
        self,
        items: Sequence[Item],
        *,
        unread: int | None,
        hourly: list[int],
        search: str,
        unread_only: bool,
        reset: bool,
        follow_head: bool,
    ) -> None:
        """Apply a fresh read; the cursor keeps its item unless the filter changed (`reset`)."""
        self.unread = unread
        self.hourly = hourly
        self.search = search
        self.unread_only = unread_only
        self.shown = len(items)
        above = self.list.set_items(items, reset=reset, follow_head=follow_head)
        if reset or self.list.rows_above_view == 0:
            self.newer_above = 0
        else:
            self.newer_above += above
        self.list.empty_text = self._empty_text()
        self.header.refresh()

    def set_unread(self, unread: int) -> None:
        if unread != self.unread:
            self.unread = unread
            self.header.refresh()

    def extend(self, items: Sequence[Item]) -> None:
        """Older rows that continue the window (the second part of a refresh); the view does not move."""
        if items:
            self.list.append_items(items)
            self.shown = len(self.list.items)
            self.header.refresh()

    def _empty_text(self) -> str:
        if self.search:
            return f"nothing matches “{self.search}”"
        if self.unread_only:
            return "no unread items (u shows all)"
        return "no items yet"

    def set_title(self, title: str, scope: str) -> None:
        self.title = title
        self.scope = scope
        self.header.refresh()

    def on_item_list_cursor_moved(self, event: ItemList.CursorMoved) -> None:
        if self.list.rows_above_view == 0 and self.newer_above:
            self.newer_above = 0
            self.header.refresh()
