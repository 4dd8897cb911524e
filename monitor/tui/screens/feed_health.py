"""Per-feed health: status, last poll, next poll, items and the last error; failing feeds first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.style import Style
from textual.widgets import DataTable, Footer, Static

from monitor.config import Config
from monitor.models import FeedState, FeedStatus
from monitor.store import Store, StoreError
from monitor.tui.format import clock_time, safe
from monitor.urls import redact

STATUS_STYLE = {
    FeedStatus.OK: "green",
    FeedStatus.NOT_MODIFIED: "green",
    FeedStatus.FAILING: "bold red",
    FeedStatus.GONE: "bold magenta",
    FeedStatus.NEVER_POLLED: "yellow",
}
STATUS_ORDER = {FeedStatus.GONE: 0, FeedStatus.FAILING: 1, FeedStatus.NEVER_POLLED: 2}


class FeedHealthScreen(Screen[None]):
    """A small table (one row per configured feed), so DataTable's per-cell cost does not matter here."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f,backspace", "close", "back"),
        Binding("r", "reload", "reload"),
    ]

    def __init__(self, store: Store, config: Config, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.store = store
        self.config = config
        self.clock = clock
        self.states: list[FeedState] = []
        self.summary = Static(id="feeds-summary")
        self.table: DataTable[Text] = DataTable(id="feeds-table", cursor_type="row", zebra_stripes=True)
        self.detail = Static(id="feeds-detail")

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self.table
        yield self.detail
        yield Footer()

    def on_mount(self) -> None:
        self.table.add_columns("Status", "Feed", "Last poll", "Next poll", "Items", "Error")
        self.load()
        self.table.focus()

    def load(self) -> None:
        """Read the feeds with their item counts in a worker: counting reads an index entry per stored
        item (over 100 ms at a million items), which only this screen needs."""
        self.summary.update(Content.assemble(("Feed health", Style(bold=True)), "  reading…"))
        self._load_worker()

    @work(thread=True, exclusive=True, group="feed-health", exit_on_error=False)
    def _load_worker(self) -> None:
        try:
            states = self.store.feed_states()
        except StoreError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        self.app.call_from_thread(self.show_states, states)

    def show_states(self, states: list[FeedState]) -> None:
        self.states = sorted(states, key=lambda s: (STATUS_ORDER.get(s.status, 3), s.title.lower()))
        tz = self.config.settings.tz
        now = self.clock()
        self.table.clear()
        for state in self.states:
            error = (
                f"{state.error_kind}: {state.last_error}" if state.error_kind else (state.last_error or "")
            )
            # Cells are Text objects: a string cell would be parsed as markup, and feed titles and
            # server error messages are untrusted.
            self.table.add_row(
                Text(str(state.status), style=STATUS_STYLE.get(state.status, "")),
                Text(safe(state.title)[:40]),
                Text(clock_time(state.last_polled, tz, now)),
                Text(clock_time(state.next_poll, tz, now)),
                Text(str(state.items), justify="right"),
                Text(safe(error)[:80], style="red" if error else ""),
                key=state.url,
            )
        ok = sum(1 for s in states if s.status in (FeedStatus.OK, FeedStatus.NOT_MODIFIED))
        failing = sum(1 for s in states if s.status in (FeedStatus.FAILING, FeedStatus.GONE))
        self.summary.update(
            Content.assemble(
                ("Feed health", Style(bold=True)),
                f"  {len(states)} feeds · {ok} ok · {failing} failing · "
                f"{len(states) - ok - failing} not polled yet",
            )
        )
        self.show_detail(0)

    def show_detail(self, row: int) -> None:
        if not 0 <= row < len(self.states):
            self.detail.update("")
            return
        state = self.states[row]
        dim = Style(dim=True)
        parts: list[str | tuple[str, str | Style]] = [
            (safe(state.title), Style(bold=True)),
            "\n",
            ("URL         ", dim),
            safe(redact(state.url)),
            "\n",
            ("Last OK     ", dim),
            clock_time(state.last_success, self.config.settings.tz, self.clock()),
            "\n",
            ("Errors      ", dim),
            f"{state.error_count} in a row",
            "\n",
            ("Last error  ", dim),
            safe(state.last_error) if state.last_error else "—",
        ]
        self.detail.update(Content.assemble(*parts))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail(event.cursor_row)

    def action_reload(self) -> None:
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
