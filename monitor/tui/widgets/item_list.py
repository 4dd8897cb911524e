"""A window of item rows drawn line by line: cost follows the screen height, not the number of rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.color import Color
from textual.content import Content
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style

from monitor.models import Item
from monitor.tui.format import safe, short_time

NEAR_END_ROWS = 40
"""Ask for older rows when the cursor comes this close to the last loaded row."""
LINE_CACHE = 160
"""Drawn rows kept per list: a pane shown again (a track switch) is drawn from them."""
_PARTS = (
    "item-list--new",
    "item-list--unread",
    "item-list--read",
    "item-list--star",
    "item-list--time",
    "item-list--source",
    "item-list--extra",
)


@dataclass(frozen=True, slots=True)
class TrackBadge:
    """How the All view marks an item's tracks."""

    label: str
    color: str


class ItemList(ScrollView, can_focus=True):
    """Rows of `time source title`, newest first, with a cursor that stays on its item across reloads."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "item-list--cursor",
        "item-list--unread",
        "item-list--read",
        "item-list--new",
        "item-list--star",
        "item-list--time",
        "item-list--source",
        "item-list--extra",
        "item-list--empty",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "up", show=False),
        Binding("down,j", "cursor_down", "down", show=False),
        Binding("pageup,ctrl+b", "page_up", "page up", show=False),
        Binding("pagedown,ctrl+f,space", "page_down", "page down", show=False),
        Binding("home,g", "first", "newest", show=False),
        Binding("end,G", "last", "oldest loaded", show=False),
    ]

    @dataclass
    class CursorMoved(Message):
        """The cursor is on another item (or on none)."""

        item_list: ItemList
        item: Item | None

    @dataclass
    class NearEnd(Message):
        """The cursor is close to the last loaded row: time to page in older rows."""

        item_list: ItemList

    @dataclass
    class Activated(Message):
        """A row was clicked twice (or chosen): open it."""

        item_list: ItemList
        item: Item

    def __init__(
        self,
        *,
        tz: tzinfo,
        clock: Callable[[], datetime],
        badges: Mapping[str, TrackBadge] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.tz = tz
        self.clock = clock
        self.badges = dict(badges or {})
        """Track id -> badge; when set, each row shows its tracks (the All view)."""
        self.items: list[Item] = []
        self.cursor = 0
        self.new_after: datetime | None = None
        """Rows fetched after this moment are marked new."""
        self.empty_text = "no items"
        self.exhausted = False
        """True once paging found no older rows."""
        self._index: dict[str, int] = {}
        self._lines: LRUCache[tuple[object, ...], Strip] = LRUCache(LINE_CACHE)
        """Drawn rows, keyed by everything a row's look depends on (so nothing needs invalidating but
        the styles, which are part of the key too)."""
        self._parts: dict[str, Style] | None = None
        self._badge_styles: dict[TrackBadge, Style] = {}

    # ---- data ---------------------------------------------------------------------------------

    @property
    def current(self) -> Item | None:
        if 0 <= self.cursor < len(self.items):
            return self.items[self.cursor]
        return None

    def set_items(self, items: Sequence[Item], *, reset: bool = False, follow_head: bool = False) -> int:
        """Replace the rows. The cursor stays on its item and that item stays on the same screen line.

        `reset` puts the cursor on the newest row (a new filter); `follow_head` keeps an untouched
        cursor on the newest row (a pane nobody is reading). Returns how many rows appeared above
        the cursor's item.
        """
        old = self.current
        screen_line = self.cursor - round(self.scroll_y)
        at_head = self.cursor == 0 and round(self.scroll_y) == 0
        self.items = list(items)
        self._index = {item.id: n for n, item in enumerate(self.items)}
        if reset:
            self.exhausted = False
        moved_by = 0
        if reset or not self.items or (follow_head and at_head):
            cursor, scroll = 0, 0
        elif old is not None and old.id in self._index:
            cursor = self._index[old.id]
            moved_by = cursor - (screen_line + round(self.scroll_y))
            scroll = cursor - screen_line
        else:
            cursor = min(self.cursor, len(self.items) - 1)
            scroll = round(self.scroll_y)
        self._set_row_count()
        self.cursor = max(0, cursor)
        self.scroll_to(
            y=max(0, min(scroll, max(0, len(self.items) - self.scrollable_content_region.height))),
            animate=False,
            force=True,
        )
        self._keep_cursor_visible()
        self.refresh()
        if old is None or self.current is None or old.id != self.current.id:
            self.post_message(self.CursorMoved(self, self.current))
        return max(0, moved_by)

    def append_items(self, items: Sequence[Item]) -> int:
        """Add older rows at the end (paging, or the rest of a window read in two parts); the view does
        not move. Returns how many were not there already."""
        fresh = [item for item in items if item.id not in self._index]
        if not fresh:
            return 0
        start = len(self.items)
        self.items.extend(fresh)
        self._index.update((item.id, start + n) for n, item in enumerate(fresh))
        self._set_row_count()
        self.refresh()
        return len(fresh)

    def _set_row_count(self) -> None:
        """Size the scrollable area to the rows. Setting `virtual_size` lays out the whole screen again;
        while the scroll bar stays as it is (shown or not) only this list and its bar can change, so
        they are updated in place and the frame repaints just them."""
        size = Size(0, len(self.items))
        if size == self.virtual_size:
            return
        if not self.container_size:
            # Never laid out (a pane not shown yet): its first layout sizes the bar from these rows.
            self.set_reactive(ItemList.virtual_size, size)
            return
        if self.styles.overflow_y != "auto" or (
            (size.height > self.container_size.height) != self.show_vertical_scrollbar
        ):
            self.virtual_size = size  # the bar comes or goes: the rows' width changes
            return
        self.set_reactive(ItemList.virtual_size, size)
        self._scroll_update(size)
        self.refresh()

    def replace_item(self, item: Item) -> None:
        """Show a changed item (read, starred) in place."""
        index = self._index.get(item.id)
        if index is not None:
            self.items[index] = item
            self.refresh_line(index)

    def index_of(self, item_id: str) -> int | None:
        return self._index.get(item_id)

    @property
    def rows_above_view(self) -> int:
        """Rows above the first visible line (newer items scrolled out of sight)."""
        return round(self.scroll_y)

    # ---- cursor -------------------------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        if not self.items:
            return
        row = max(0, min(row, len(self.items) - 1))
        if row == self.cursor:
            return
        previous = self.cursor
        self.cursor = row
        self.refresh_line(previous)
        self.refresh_line(row)
        self._keep_cursor_visible()
        self.post_message(self.CursorMoved(self, self.current))
        if not self.exhausted and len(self.items) - row <= NEAR_END_ROWS:
            self.post_message(self.NearEnd(self))

    def go_to_item(self, item_id: str) -> bool:
        index = self._index.get(item_id)
        if index is None:
            return False
        self.move_cursor(index)
        return True

    def _keep_cursor_visible(self) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, force=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, force=True)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self.items) - 1)

    def on_click(self, event: Click) -> None:
        row = round(self.scroll_y) + event.y
        if 0 <= row < len(self.items):
            self.focus()
            if row == self.cursor and event.chain >= 2:
                self.post_message(self.Activated(self, self.items[row]))
            self.move_cursor(row)

    def on_resize(self) -> None:
        self._keep_cursor_visible()

    # ---- drawing ------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._parts = None

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row = round(self.scroll_y) + y
        if row >= len(self.items):
            if row == 0:
                style = self.get_visual_style("item-list--empty")
                content = Content(f" {self.empty_text}").truncate(width, pad=True)
                return Strip(content.render_segments(style), width)
            return Strip.blank(width, self.get_visual_style().rich_style)
        item = self.items[row]
        cursor = row == self.cursor
        base = self.get_visual_style("item-list--cursor") if cursor else self.get_visual_style()
        parts = self._part_styles()
        today = self.clock().astimezone(self.tz).date()
        # Everything the row's look depends on: the item's shown fields, the "new" mark, the width, the
        # styles and the day (times show as HH:MM today, as a date before).
        key = (
            item.id,
            item.title,
            item.source,
            item.published,
            item.tracks,
            item.read,
            item.starred,
            item.cluster_size,
            self._is_new(item),
            width,
            base,
            tuple(parts.values()),
            today,
        )
        strip = self._lines.get(key)
        if strip is None:
            strip = self._row_strip(item, width, base)
            self._lines.set(key, strip)
        return strip

    def _part_styles(self) -> dict[str, Style]:
        if self._parts is None:
            self._parts = {name: self.get_visual_style(name, partial=True) for name in _PARTS}
        return self._parts

    def _part(self, name: str) -> Style:
        return self._part_styles()[name]

    def _is_new(self, item: Item) -> bool:
        # fetched_at has whole seconds; compare at that resolution so a row stored in the same second
        # as the baseline still counts as arrived.
        return self.new_after is not None and item.fetched_at >= self.new_after.replace(microsecond=0)

    def source_width(self, width: int) -> int:
        return max(8, min(18, width // 6))

    def row_content(self, item: Item, width: int) -> Content:
        """One row, built from plain strings and styles: feed text is never read as markup. (Rows are
        drawn by `_row_strip`, which must give the same cells: tests/tui/test_drawing.py.)"""
        new = self._is_new(item)
        mark = (
            ("+", self._part("item-list--new"))
            if new
            else (("•", self._part("item-list--unread")) if not item.read else (" ", Style()))
        )
        star = ("★", self._part("item-list--star")) if item.starred else (" ", Style())
        text_style = self._part("item-list--unread" if not item.read else "item-list--read")
        parts: list[str | tuple[str, str | Style] | Content] = [
            mark,
            star,
            (short_time(item.published, self.tz, self.clock()), self._part("item-list--time")),
            " ",
        ]
        if self.badges:
            badge = next((self.badges[t] for t in item.tracks if t in self.badges), None)
            if badge is None:
                parts.append(("·  ", self._part("item-list--extra")))
            else:
                parts.append(
                    (badge.label[:3].ljust(3), Style(foreground=Color.parse(badge.color), bold=True))
                )
            parts.append(" ")
        source_width = self.source_width(width)
        source = Content.styled(safe(item.source), self._part("item-list--source"))
        parts += [source.truncate(source_width, ellipsis=True, pad=True), " "]
        prefix = Content.assemble(*parts)
        # The outlet count stays visible however long the title: the title gives way, not the badge.
        suffix = (
            Content.styled(f" ×{item.cluster_size}", self._part("item-list--extra"))
            if item.cluster_size > 1
            else Content("")
        )
        room = width - prefix.cell_length - suffix.cell_length
        title = Content.styled(safe(item.title), text_style).truncate(max(0, room), ellipsis=True)
        return Content.assemble(prefix, title, suffix).truncate(width, pad=True)

    def _row_strip(self, item: Item, width: int, base: Style) -> Strip:
        """`row_content(item, width)` drawn over `base`, built straight as segments: the same cells and
        styles at a third of the cost (a search shows a screenful of rows never drawn before, and
        Content's spans, truncation and rendering took most of that frame)."""
        segments: list[Segment] = []
        left = width
        for text, style in self._row_pieces(item, width):
            if not text:
                continue
            cells = cell_len(text)
            if cells > left:  # too narrow for the row: cut at the width, as Content.truncate does
                text, cells = set_cell_size(text, left), left
            segments.append(Segment(text, (base if style is None else base + style).rich_style))
            left -= cells
            if not left:
                break
        if left > 0:
            segments.append(Segment(" " * left, base.rich_style))
        return Strip(segments, width)

    def _row_pieces(self, item: Item, width: int) -> list[tuple[str, Style | None]]:
        """The texts of `row_content`, each with its part style (None: the row's own), not yet cut to
        the width."""
        part = self._part_styles()
        pieces: list[tuple[str, Style | None]] = []
        if self._is_new(item):
            pieces.append(("+", part["item-list--new"]))
        else:
            pieces.append(("•", part["item-list--unread"]) if not item.read else (" ", None))
        pieces.append(("★", part["item-list--star"]) if item.starred else (" ", None))
        pieces += [(short_time(item.published, self.tz, self.clock()), part["item-list--time"]), (" ", None)]
        if self.badges:
            badge = next((self.badges[t] for t in item.tracks if t in self.badges), None)
            if badge is None:
                pieces.append(("·  ", part["item-list--extra"]))
            else:
                pieces.append((badge.label[:3].ljust(3), self._badge_style(badge)))
            pieces.append((" ", None))
        source_width = self.source_width(width)
        source = safe(item.source)
        length = cell_len(source)
        if length > source_width:
            pieces.append((set_cell_size(source, source_width - 1) + "…", part["item-list--source"]))
        else:
            pieces += [(source, part["item-list--source"]), (" " * (source_width - length), None)]
        pieces.append((" ", None))
        suffix = f" ×{item.cluster_size}" if item.cluster_size > 1 else ""
        room = max(0, width - sum(cell_len(text) for text, _ in pieces) - cell_len(suffix))
        title = safe(item.title)
        if cell_len(title) > room:
            title = set_cell_size(title, room - 1) + "…" if room else ""
        pieces.append((title, part["item-list--unread" if not item.read else "item-list--read"]))
        pieces.append((suffix, part["item-list--extra"]))
        return pieces

    def _badge_style(self, badge: TrackBadge) -> Style:
        style = self._badge_styles.get(badge)
        if style is None:
            style = self._badge_styles[badge] = Style(foreground=Color.parse(badge.color), bold=True)
        return style
