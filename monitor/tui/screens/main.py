"""The main screen: a pane per track (plus All), the negotiation-status panel, search and the status line."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import webbrowser
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Container, Horizontal
from textual.events import DescendantBlur, DescendantFocus
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input

from monitor.config import Config
from monitor.models import Item
from monitor.store import ALL, UNTRACKED, Store, StoreError
from monitor.tui.format import safe
from monitor.tui.keys import main_bindings
from monitor.tui.messages import FeedPolled, PollerStopped, PollFinished, PollStarted
from monitor.tui.view_data import Cancelled, ViewData, ViewQuery, cancellable, load_older, view_parts
from monitor.tui.widgets.footer import KeysFooter
from monitor.tui.widgets.item_list import ItemList, TrackBadge
from monitor.tui.widgets.status_line import StatusLine
from monitor.tui.widgets.status_panel import StatusPanel
from monitor.tui.widgets.track_pane import TrackPane
from monitor.tui.widgets.track_tabs import Tab, TrackTabs
from monitor.urls import is_http_url

if TYPE_CHECKING:
    from monitor.tagging import Tagger

SEARCH_DELAY = 0.15
"""Seconds of typing pause before the panes are filtered (one query per pause, not per key)."""
POLL_REFRESH_DELAY = 0.4
"""Feeds finish in bursts during a poll: gather them into one reload."""
MAX_ROWS_FACTOR = 20
"""A reload re-reads at most this many windows of rows, however far the reader paged."""
MAX_ALERT_LINES = 3
"""Alerts listed by name in one toast; the rest are counted."""
ALERT_SECONDS = 15
WIDE = 160
"""Columns from which the track panes sit side by side."""
PAINT_WAIT = 0.5
"""Longest wait, in a refresh, for the panes on screen to be painted before the others are read."""
GC_THRESHOLD = (3000, 10, 10)
"""Collector thresholds while the app runs (Python's are 700, 10, 10). Drawing a frame allocates
tens of thousands of small objects: at the default a full collection came every four track switches
(20 to 50 ms each at a million items, often inside a keystroke's frame), here one in about twenty-five.
Much higher and the young collections themselves take several ms."""
START_GC_HOLD_LIMIT = 5.0
"""Seconds the collector stays off at most while the app starts, should the first rows never come."""
FIRST_ROWS = 100
"""Rows read first for a pane on screen whose filter changed, before it has a height (a screenful and
some); the rest of its window comes with the panes off screen."""
FIRST_ROWS_BELOW = 10
"""Rows read first beyond a pane's height. A search tests the pane's newest rows against the full-text
index until it has enough, so the first part reads about a screenful: at a million items a common
word's first part costs a third less than with FIRST_ROWS."""

ALL_COLOR = "#a0a0a0"


class MainScreen(Screen[None]):
    """Everything the monitor shows at a glance; reads go through the store in worker threads."""

    HORIZONTAL_BREAKPOINTS = [
        (0, "-narrow"),
        (120, "-medium"),
        (WIDE, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = main_bindings()  # type: ignore[assignment]
    AUTO_FOCUS = None

    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Callable[[], datetime],
        *,
        mode: str = "polling",
        watch_interval: float | None = 2.0,
    ) -> None:
        super().__init__()
        self.store = store
        self.config = config
        self.clock = clock
        self.mode = mode
        self.watch_interval = watch_interval
        self.tz = config.settings.tz
        self.track_ids = config.track_ids
        self.active = self.track_ids[0] if self.track_ids else ALL
        self.expanded = False
        self.search_text = ""
        self.unread_only = False
        self.generation = 0
        self._applied_generation = -1
        self._refresh_timer: Timer | None = None
        self._data_version: int | None = None
        self._alert_mark = clock()
        self._tagger: Tagger | None = None
        self._panel: bool | None = None
        self._poll_done = 0
        self._last_notice: str | None = None
        self._paging: set[str] = set()
        self._reading: TrackPane | None = None
        """The pane the reader is in; its "new" marks clear when they move to another pane."""
        self._unread: dict[str, int] = {}
        self._seen_pending: dict[str, datetime] = {}
        """Pane id -> "looked at" time not yet written to the store."""
        self._seen_scheduled = False
        self._first_view_shown = False
        self._gc_threshold: tuple[int, int, int] | None = None
        self._refreshes = 0
        """Refreshes started; the one holding the collector off (`_gc_held`) is named by its number."""
        self._gc_held: int | None = None
        self._start_gc_held = False
        """The collector is off from mount to the first view (see `on_mount`)."""
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="sitmon-view")
        """One thread for the panes' reads: its connection keeps SQLite's page and statement caches
        warm from one refresh to the next (worker threads come from a pool, each with a connection)."""
        self._panel_frozen = False
        badges = {t.id: TrackBadge(t.title, t.color) for t in config.tracks}
        self.panes: dict[str, TrackPane] = {}
        for n, track in enumerate(config.tracks):
            self.panes[track.id] = TrackPane(
                track.id,
                scope=track.id,
                title=track.title,
                color=track.color,
                number=n + 1 if n < 9 else None,
                tz=self.tz,
                clock=clock,
            )
        self.panes[ALL] = TrackPane(
            ALL,
            scope=ALL,
            title="All",
            color=ALL_COLOR,
            number=None,
            tz=self.tz,
            clock=clock,
            badges=badges,
            classes="-all",
        )
        self.tabs = TrackTabs(id="tabs")
        self.search_input = Input(
            placeholder="search every pane (enter: back to the list, esc: clear)", id="search"
        )
        self.status_panel = StatusPanel(store, config, clock, id="status-panel")
        self.status_line = StatusLine(tz=self.tz, clock=clock, mode=mode, id="status-line")

    # ---- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.tabs
        yield self.search_input
        with Horizontal(id="body"):
            with Container(id="panes"):
                yield from self.panes.values()
            yield self.status_panel
        yield self.status_line
        yield KeysFooter()

    def on_mount(self) -> None:
        # Until the first rows are on screen, nothing allocated is garbage worth a collection: a full
        # one then walks every module and style just built (50 ms, inside the first frame with rows).
        # `_after_first_view` moves it all out of the collector's sight and turns it back on.
        if gc.isenabled():
            gc.disable()
            self._start_gc_held = True
            self.set_timer(START_GC_HOLD_LIMIT, self._release_start_hold)
        self.expanded = self.app.size.width < WIDE
        now = self.clock()
        for pane_id, pane in self.panes.items():
            pane.list.new_after = self.store.pane_seen(pane_id) or now
        self._apply_layout()
        self.focus_active()
        self._data_version = self.store.data_version()
        self.request_refresh(reset=True)
        # The negotiation panel's first computation (seconds of Python at a million items, holding the
        # interpreter lock) starts once the panes have shown their rows: see _after_first_view.
        if self.watch_interval:
            self.set_interval(self.watch_interval, self.check_for_changes)

    def on_status_panel_computed(self, message: StatusPanel.Computed) -> None:
        if not self._panel_frozen and self._gc_threshold is not None:
            # The panel's first computation leaves long-lived results (and its read cache) behind:
            # out of the collector's sight too.
            self._panel_frozen = True
            gc.freeze()

    def _after_first_view(self) -> None:
        """The first frame with rows is on screen: start what it did not need."""
        if self._first_view_shown:
            return
        self._first_view_shown = True
        self.status_panel.refresh_status()
        # Everything alive now (modules, styles, widgets, the first rows) lives as long as the app:
        # moved out of the collector's sight, a full collection no longer walks it (at a million items
        # those took 100 ms and more, in the middle of a keystroke); and full collections come rarely.
        gc.freeze()
        self._release_start_hold()
        self._gc_threshold = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLD)

    def _release_start_hold(self) -> None:
        """The collector back on after the start (the first view, or START_GC_HOLD_LIMIT at most)."""
        if self._start_gc_held:
            self._start_gc_held = False
            gc.enable()

    @property
    def active_pane(self) -> TrackPane:
        return self.panes[self.active]

    @property
    def current_item(self) -> Item | None:
        return self.active_pane.list.current

    def _panel_visible(self) -> bool:
        if self._panel is not None:
            return self._panel
        return self.app.size.width >= 120

    def _apply_layout(self) -> None:
        """Show the panes the layout calls for. Only what changed is touched: a pane's `display` is set
        directly (no stylesheet pass over the panes), screen classes only when they flip."""
        panes = self.query_one("#panes")
        panes.set_class(self.expanded, "-expanded")
        for pane_id, pane in self.panes.items():
            shown = pane_id == self.active if self.expanded else pane_id != ALL
            if pane.display != shown:
                pane.display = shown
        self.set_class(self._panel is True, "-show-panel")
        self.set_class(self._panel is False, "-hide-panel")
        self.set_class(bool(self.search_text) or self.search_input.has_focus, "-searching")
        self._update_tabs()

    def _update_tabs(self) -> None:
        # Counts come from the last read's counts, which reach every tab before the second part of
        # a refresh reaches the panes off screen.
        tabs = [
            Tab(
                pane_id,
                str(pane.number) if pane.number else "a",
                pane.title,
                pane.color,
                None if pane.scope == UNTRACKED else self._unread.get(pane.scope, pane.unread or 0),
            )
            for pane_id, pane in self.panes.items()
            if pane.number or pane_id == ALL
        ]
        self.tabs.update_tabs(tabs, self.active if self.expanded else "")

    def focus_active(self) -> None:
        self.active_pane.list.focus()

    def _show_active(self) -> None:
        """After a track key: the pane is shown in this frame, focus moves in the next one. Moving it in
        the same frame restyles both panes before anything is drawn (a third more work before the
        first frame at a million items)."""
        self._apply_layout()
        self.call_after_refresh(self.focus_active)

    # ---- reading the store --------------------------------------------------------------------

    def request_refresh(self, *, reset: bool = False, delay: float = 0.0, alerts: bool = False) -> None:
        """Re-read every pane in a worker; `reset` means the filter changed (cursor back to the top)."""
        if reset:
            self.generation += 1
        if alerts:
            self.check_alerts()
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
            self._refresh_timer = None
        if delay:
            self._refresh_timer = self.set_timer(delay, self._start_refresh)
        else:
            self._start_refresh()

    def _view_query(self) -> ViewQuery:
        window = self.config.settings.pane_rows
        limits = {
            pane_id: window
            if pane.generation != self.generation
            else max(window, min(len(pane.list.items), window * MAX_ROWS_FACTOR))
            for pane_id, pane in self.panes.items()
        }
        on_screen = self.query_one("#panes").display
        first = tuple(pane_id for pane_id, pane in self.panes.items() if on_screen and pane.display)
        return ViewQuery(
            panes={pane_id: pane.scope for pane_id, pane in self.panes.items()},
            limits=limits,
            track_ids=self.track_ids,
            now=self.clock(),
            search=self.search_text,
            unread_only=self.unread_only,
            generation=self.generation,
            first=first,
            # A new filter changes no count: the panes on screen need not wait for them.
            counts_first=not self._unread or self.generation == self._applied_generation,
            first_limits={
                pane_id: min(limits[pane_id], self._first_rows(self.panes[pane_id]))
                for pane_id in first
                if self.panes[pane_id].generation != self.generation
            },
        )

    @staticmethod
    def _first_rows(pane: TrackPane) -> int:
        """Rows to read first for a pane on screen whose filter changed: a screenful and a few more."""
        height = pane.list.size.height
        return height + FIRST_ROWS_BELOW if height else FIRST_ROWS

    def _start_refresh(self) -> None:
        self._refresh_timer = None
        self._refreshes += 1
        self._hold_collector(self._refreshes)
        self._refresh_worker(self._view_query(), self._refreshes)

    @work(exclusive=True, group="refresh", exit_on_error=False)
    async def _refresh_worker(self, query: ViewQuery, refresh: int) -> None:
        """Read on the screen's reader thread; a newer refresh cancels this one, and its SQL stops."""
        cancelled = threading.Event()
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._reader, self._read_view, query, cancelled, refresh
            )
        except asyncio.CancelledError:
            cancelled.set()
            raise
        finally:
            self._release_collector(refresh)

    def _hold_collector(self, refresh: int) -> None:
        """Keep the cyclic collector out of a refresh until its first part is on screen. Both threads
        allocate all along (rows, then the frame's strips): a young collection every few ms, and now
        and then an older one of 10 to 100 ms, fell inside the keystroke's frame. What they leave is
        collected right after the frame instead (only once the app manages the collector: see
        `_after_first_view`)."""
        if self._gc_threshold is None:
            return
        if self._gc_held is None:
            if not gc.isenabled():
                return  # someone else turned it off: theirs to turn on
            gc.disable()
        self._gc_held = refresh

    def _release_collector(self, refresh: int) -> None:
        """The refresh that held the collector off has shown its first part (or ended)."""
        if self._gc_held == refresh:
            self._gc_held = None
            gc.enable()

    def _read_view(self, query: ViewQuery, cancelled: threading.Event, refresh: int) -> None:
        """The panes on screen first (shown as soon as they are read), then the others (reader thread)."""
        self._save_seen_now()
        painted = threading.Event()
        try:
            with cancellable(self.store, cancelled.is_set):
                for n, read in enumerate(view_parts(self.store, query)):
                    if n:
                        # Let the first part reach the screen before reading on: the frame and this
                        # thread would otherwise share the interpreter.
                        painted.wait(PAINT_WAIT)
                    data = read()
                    if cancelled.is_set():
                        return
                    self.app.call_from_thread(self._apply_view, data, painted, refresh)
        except Cancelled:
            return
        except StoreError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            self.app.call_from_thread(self._after_first_view)

    def _apply_view(self, data: ViewData, painted: threading.Event, refresh: int) -> None:
        if data.query.generation != self.generation:
            return  # an answer for a filter that has since changed; the newer one is on its way
        self._applied_generation = data.query.generation
        if data.feeds is not None:
            self._unread = data.unread
            self.status_line.update_feeds(data.feeds, data.next_due)
            for pane in self.panes.values():
                if pane.pane_id not in data.rows and pane.scope != UNTRACKED:
                    pane.set_unread(self._unread.get(pane.scope, 0))
        focused = self.focused
        for pane_id, rows in data.rows.items():
            pane = self.panes[pane_id]
            reset = pane.generation != data.query.generation
            pane.generation = data.query.generation
            pane.show(
                rows,
                unread=None if pane.scope == UNTRACKED else self._unread.get(pane.scope, 0),
                hourly=data.hourly.get(pane_id, []),
                search=self.search_text,
                unread_only=self.unread_only,
                reset=reset,
                follow_head=focused is not pane.list,
            )
        for pane_id, rows in data.more.items():
            pane = self.panes[pane_id]
            if pane.generation == data.query.generation:
                pane.extend(rows)
        if data.feeds is not None:
            self._update_tabs()
        self.call_after_refresh(painted.set)
        self.call_after_refresh(self._release_collector, refresh)
        if not self._first_view_shown:
            self.call_after_refresh(self._after_first_view)

    def check_for_changes(self) -> None:
        """Cheap poll of the database (PRAGMA data_version): reload only when someone else committed."""
        try:
            version = self.store.data_version()
        except StoreError:
            return
        if version != self._data_version:
            self._data_version = version
            self.request_refresh(alerts=True, delay=0.05)
            self.status_panel.refresh_status()

    @on(ItemList.NearEnd)
    def _page_older(self, event: ItemList.NearEnd) -> None:
        pane = event.item_list.parent
        if not isinstance(pane, TrackPane) or pane.pane_id in self._paging or not pane.list.items:
            return
        self._paging.add(pane.pane_id)
        self._page_worker(pane.pane_id, pane.scope, pane.list.items[-1], self._view_query())

    @work(thread=True, exit_on_error=False)
    def _page_worker(self, pane_id: str, scope: str, last: Item, query: ViewQuery) -> None:
        limit = self.config.settings.pane_rows
        try:
            items = load_older(self.store, scope, last, query, limit)
        except StoreError as exc:
            items = []
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
        self.app.call_from_thread(self._apply_page, pane_id, query.generation, items, limit)

    def _apply_page(self, pane_id: str, generation: int, items: list[Item], limit: int) -> None:
        self._paging.discard(pane_id)
        if generation != self.generation:
            return
        pane = self.panes[pane_id]
        # A short page ends the pane; so does one of rows it has (nothing older to ask for). The rest of
        # a window read in two parts may bring rows a page already added: that ends nothing.
        if pane.list.append_items(items) == 0 or len(items) < limit:
            pane.list.exhausted = True

    # ---- alerts -------------------------------------------------------------------------------

    def check_alerts(self) -> None:
        since, self._alert_mark = self._alert_mark, self.clock()
        self._alert_worker(since, self._alert_mark)

    @work(thread=True, group="alerts", exit_on_error=False)
    def _alert_worker(self, since: datetime, now: datetime) -> None:
        if not any(t.alerts for t in self.config.tracks):
            return
        if self._tagger is None:
            from monitor.tagging import Tagger

            self._tagger = Tagger(self.config.tracks)
        hits: list[tuple[str, str, Item]] = []
        try:
            for item in self.store.fetched_since(since, limit=2000):
                for track, phrase in self._tagger.alerts(item.tracks, item.title, item.summary):
                    # claim_alert is atomic across processes: a viewer and a poller never both ring.
                    if self.store.claim_alert(item.id, track, now):
                        hits.append((track, phrase, item))
        except StoreError:
            return
        if hits:
            self.app.call_from_thread(self._show_alerts, hits)

    def _show_alerts(self, hits: list[tuple[str, str, Item]]) -> None:
        # One toast however many alerts: a first poll can match dozens, and toasts must not bury
        # the panes (they never take focus either).
        titles = {t.id: t.title for t in self.config.tracks}
        if len(hits) == 1:
            track, phrase, item = hits[0]
            title = f"{titles.get(track, track)} alert"
            message = f"“{phrase}”: {safe(item.title)} ({safe(item.source)})"
        else:
            title = f"{len(hits)} alerts"
            lines = [
                f"{titles.get(track, track)} “{phrase}”: {clip(safe(item.title), 90)} ({safe(item.source)})"
                for track, phrase, item in hits[:MAX_ALERT_LINES]
            ]
            if len(hits) > MAX_ALERT_LINES:
                lines.append(f"and {len(hits) - MAX_ALERT_LINES} more")
            message = "\n".join(lines)
        self.notify(message, title=title, severity="warning", timeout=ALERT_SECONDS, markup=False)
        if self.config.settings.bell:
            self.app.bell()

    # ---- poller messages ----------------------------------------------------------------------

    def on_poll_started(self, message: PollStarted) -> None:
        self._poll_done = 0
        self.status_line.polling = True
        self.status_line.progress = (0, len(self.status_line.feeds))
        self.status_line.refresh()

    def on_feed_polled(self, message: FeedPolled) -> None:
        self._poll_done += 1
        self.status_line.progress = (self._poll_done, max(len(self.status_line.feeds), self._poll_done))
        self.status_line.refresh()
        if message.report.new_items or message.report.updated_items:
            self.request_refresh(delay=POLL_REFRESH_DELAY, alerts=True)

    def on_poll_finished(self, message: PollFinished) -> None:
        from monitor.poller import offline_notice

        report = message.report
        notice = offline_notice(report)
        self.status_line.polling = False
        self.status_line.notice = notice
        if notice and notice != self._last_notice:
            self.notify(notice, severity="warning", markup=False)
        self._last_notice = notice
        self.request_refresh(alerts=True)
        self.status_panel.refresh_status()

    def on_poller_stopped(self, message: PollerStopped) -> None:
        self.status_line.polling = False
        self.status_line.stopped = safe(message.error)
        self.status_line.refresh()
        self.notify(f"the poller stopped: {safe(message.error)}", severity="error", markup=False, timeout=30)

    # ---- focus and the "new since you looked" marks -------------------------------------------

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        widget = event.widget
        if not (isinstance(widget, ItemList) and isinstance(widget.parent, TrackPane)):
            return
        pane = widget.parent
        # Leaving a pane for another one is what "looked at" means; the search box, dialogs and
        # other screens do not count, so their round trips keep the marks.
        if self._reading is not None and self._reading is not pane:
            self.mark_seen(self._reading)
        self._reading = pane
        if pane.pane_id != self.active:
            self.active = pane.pane_id
            self._apply_layout()

    def on_descendant_blur(self, event: DescendantBlur) -> None:
        if event.widget is self.search_input:
            self._apply_layout()

    def mark_seen(self, pane: TrackPane) -> None:
        """The reader has looked at this pane: rows that arrived until now lose their "new" mark.

        The time is written by a worker thread once the frame is painted: a track switch never
        waits for the database, whose write lock a poller may hold for a while."""
        now = self.clock()
        pane.list.new_after = now
        pane.list.refresh()
        self._seen_pending[pane.pane_id] = now
        if not self._seen_scheduled:
            self._seen_scheduled = True
            self.call_after_refresh(self._save_seen_later)

    def _save_seen_later(self) -> None:
        self._seen_scheduled = False
        if self._seen_pending:
            self.run_worker(self._save_seen_now, thread=True, group="pane-seen", exit_on_error=False)

    def _save_seen_now(self) -> None:
        """Write the pending "looked at" times (any thread)."""
        while self._seen_pending:
            pane_id, moment = self._seen_pending.popitem()
            # A busy database costs only the marks, which come back next time.
            with contextlib.suppress(StoreError):
                self.store.set_pane_seen(pane_id, moment)

    def on_unmount(self) -> None:
        if self._reading is not None:
            self.mark_seen(self._reading)
        self._save_seen_now()
        self._reader.shutdown(wait=False, cancel_futures=True)
        self._release_start_hold()
        if self._gc_held is not None:
            self._release_collector(self._gc_held)
        if self._gc_threshold is not None:
            # What the app held can be collected again (tests run many apps in one process).
            gc.set_threshold(*self._gc_threshold)
            gc.unfreeze()

    # ---- keys ---------------------------------------------------------------------------------

    def action_focus_track(self, index: int) -> None:
        if index >= len(self.track_ids):
            self.notify(
                f"there is no track {index + 1}: {len(self.track_ids)} tracks are configured", markup=False
            )
            return
        self.active = self.track_ids[index]
        self.expanded = True
        self._show_active()

    def action_show_all_panes(self) -> None:
        self.expanded = False
        if self.active == ALL:
            self.active = self.track_ids[0] if self.track_ids else ALL
        self._show_active()

    def action_all_view(self) -> None:
        pane = self.panes[ALL]
        if self.active == ALL and self.expanded:
            scope = UNTRACKED if pane.scope == ALL else ALL
            pane.set_title("Other (no track)" if scope == UNTRACKED else "All", scope)
            self.request_refresh(reset=True)
        self.active = ALL
        self.expanded = True
        self._show_active()

    def action_search(self) -> None:
        self.set_class(True, "-searching")
        self.call_after_refresh(self.search_input.focus)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        text = event.value.strip()
        if text != self.search_text:
            self.search_text = text
            self.request_refresh(reset=True, delay=SEARCH_DELAY)

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.focus_active()

    def action_clear_search(self) -> None:
        had_search = bool(self.search_text)
        self.search_text = ""
        self.search_input.value = ""
        self.set_class(False, "-searching")
        if had_search:
            self.request_refresh(reset=True)
        self.call_after_refresh(self.focus_active)

    def action_open_item(self) -> None:
        item = self.current_item
        if item is None:
            self.notify("no item here", markup=False)
            return
        from monitor.tui.screens.item_detail import ItemDetailScreen

        if not item.read:
            self._set_read(item, True)
        self.app.push_screen(
            ItemDetailScreen(self.store, self.config, self.clock, item.id), lambda _: self.request_refresh()
        )

    def on_item_list_activated(self, event: ItemList.Activated) -> None:
        self.action_open_item()

    def action_open_link(self) -> None:
        item = self.current_item
        if item is not None:
            open_link(self, item.link)

    def action_copy_link(self) -> None:
        item = self.current_item
        if item is not None:
            copy_link(self, item.link)

    def _set_read(self, item: Item, read: bool) -> None:
        try:
            if read:
                self.store.mark_cluster_read(item.id)
            else:
                self.store.set_read([item.id], False)
        except StoreError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        for pane in self.panes.values():
            pane.list.replace_item(replace(item, read=read))

    def action_toggle_read(self) -> None:
        item = self.current_item
        if item is None:
            return
        self._set_read(item, not item.read)
        self.request_refresh()

    def action_mark_pane_read(self) -> None:
        pane = self.active_pane
        try:
            if self.search_text or self.unread_only:
                # A filtered pane: mark what the reader can see, not the whole track behind the filter.
                count = self.store.set_read([item.id for item in pane.list.items], True)
            else:
                count = self.store.mark_track_read(pane.scope)
        except StoreError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.notify(f"{pane.title}: {count} items marked read", markup=False)
        self.request_refresh()

    def action_toggle_star(self) -> None:
        item = self.current_item
        if item is None:
            return
        try:
            self.store.set_starred(item.id, not item.starred)
        except StoreError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        for pane in self.panes.values():
            pane.list.replace_item(replace(item, starred=not item.starred))

    def action_unread_only(self) -> None:
        self.unread_only = not self.unread_only
        self.notify("unread items only" if self.unread_only else "all items", markup=False, timeout=2)
        self.request_refresh(reset=True)

    def action_poll_now(self) -> None:
        poll_now = getattr(self.app, "poll_now", None)
        if poll_now is None or not poll_now():
            self.notify("viewer mode: the separate `sitmon poll` process does the polling", markup=False)
        elif self.status_line.polling:
            self.notify("already polling; the next cycle starts when this one ends", markup=False)
        else:
            self.notify("polling every feed now", markup=False, timeout=3)

    def action_feed_health(self) -> None:
        from monitor.tui.screens.feed_health import FeedHealthScreen

        self.app.push_screen(FeedHealthScreen(self.store, self.config, self.clock))

    def action_toggle_panel(self) -> None:
        self._panel = not self._panel_visible()
        self._apply_layout()
        if not self._panel and self.focused is self.status_panel:
            self.call_after_refresh(self.focus_active)

    def action_digest(self) -> None:
        self._digest_worker(self.clock())

    @work(thread=True, group="digest", exclusive=True, exit_on_error=False)
    def _digest_worker(self, now: datetime) -> None:
        try:
            from monitor.digest import write_daily_digest
        except ImportError:
            self.app.call_from_thread(
                self.notify, "digest not available in this build", severity="warning", markup=False
            )
            return
        try:
            path = write_daily_digest(self.store, self.config, now)
        except Exception as exc:
            self.app.call_from_thread(self.notify, f"digest failed: {exc}", severity="error", markup=False)
            return
        self.app.call_from_thread(
            self.notify, f"digest written to {path}", title="Digest", markup=False, timeout=15
        )


def open_link(screen: Screen[Any], link: str | None) -> None:
    """Open an item's link in the browser: http(s) only, never through a shell."""
    if not link:
        screen.notify("this item has no link", markup=False)
        return
    if not is_http_url(link):
        screen.notify(
            f"refused to open a link that is not http(s): {safe(link)[:200]}",
            severity="warning",
            markup=False,
        )
        return
    # webbrowser.open can block while it starts a browser: keep it off the UI thread.
    screen.run_worker(lambda: webbrowser.open(link), thread=True, group="browser", exit_on_error=False)
    screen.notify(f"opening {safe(link)[:200]}", markup=False, timeout=3)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def copy_link(screen: Screen[Any], link: str | None) -> None:
    if not link:
        screen.notify("this item has no link", markup=False)
        return
    screen.app.copy_to_clipboard(link)
    screen.notify(f"copied {safe(link)[:200]}", markup=False, timeout=3)
