"""The negotiation-status panel: one block per track with status, why, since when, and a 30-day strip."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.events import Click
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from monitor.config import Config
from monitor.negotiation import TrackStatus
from monitor.negotiation.engine import StatusEngine, age, day_end
from monitor.negotiation.overrides import clear_override, set_override
from monitor.store import Store, StoreError
from monitor.tui.format import safe

STATUS_COLOURS = {
    "agreement": "#98c379",
    "talks": "#61afef",
    "stalled": "#e5c07b",
    "breakdown": "#d19a66",
    "escalation": "#e06c75",
    "quiet": "#7f848e",
}
"""One colour per status: badges, the strip and the evidence screen share them."""
STRIP_DAYS = 30
UPCOMING_SHOWN = 2
UPCOMING_CHARS = 140

Part = str | tuple[str, str]


def badge(status: str) -> tuple[str, str]:
    """A status word as a coloured badge (a Content.assemble part)."""
    return (f" {status.upper()} ", f"bold #1e1e1e on {STATUS_COLOURS.get(status, '#7f848e')}")


def clip(text: str, limit: int) -> str:
    text = safe(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def when(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%d %b %H:%M")


class TrackBlock(Static):
    """One track's block; which one is focused is the panel's business."""

    def __init__(self, track_id: str) -> None:
        super().__init__(id=f"status-{track_id}", classes="status-block")
        self.track_id = track_id

    def on_click(self, event: Click) -> None:
        panel = self.parent
        if isinstance(panel, StatusPanel):
            panel.select(self.track_id)
            panel.focus()


class StatusPanel(VerticalScroll, can_focus=True):
    """One block per track saying where its negotiation stands.

    Focusable: up/down move between tracks, `n` sets or clears the analyst status of the focused
    track, `enter` lists the evidence. The app calls `refresh_status()` after each poll and when
    the database changes; the computation runs in a thread and the blocks update when it is done.
    """

    DEFAULT_CSS = """
    StatusPanel {
        scrollbar-size-vertical: 1;
    }
    StatusPanel > .status-block {
        padding: 0 0 1 1;
        border-left: blank;
    }
    StatusPanel > .status-block.-focused {
        border-left: outer $panel-lighten-2;
    }
    StatusPanel:focus > .status-block.-focused {
        border-left: outer $accent;
        background: $boost;
    }
    StatusPanel > #status-message {
        color: $text-muted;
        padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "previous track", show=False),
        Binding("down,j", "move(1)", "next track", show=False),
        Binding("n", "override", "analyst status"),
        Binding("enter", "evidence", "evidence"),
    ]

    class Computed(Message):
        """The panel finished a refresh (tests and the app may wait for it)."""

    def __init__(self, store: Store, config: Config, clock: Callable[[], datetime], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.store = store
        self.config = config
        self.clock = clock
        self.tz = config.settings.tz
        self.track_ids = [t.id for t in config.tracks if t.id in config.negotiation]
        self.statuses: dict[str, TrackStatus] = {}
        self.strips: dict[str, list[str | None]] = {}
        self.index = 0
        self.message = Static(Content("computing negotiation status…"), id="status-message")

    def compose(self) -> ComposeResult:
        yield self.message
        for track_id in self.track_ids:
            yield TrackBlock(track_id)

    def on_mount(self) -> None:
        self._mark_focus()

    # ---- which track is focused ---------------------------------------------------------------

    @property
    def focused_track(self) -> str | None:
        """The track whose block is focused (None when no track has a negotiation)."""
        return self.track_ids[self.index] if self.track_ids else None

    def select(self, track_id: str) -> None:
        if track_id in self.track_ids:
            self.index = self.track_ids.index(track_id)
            self._mark_focus()

    def action_move(self, delta: int) -> None:
        if self.track_ids:
            self.index = max(0, min(len(self.track_ids) - 1, self.index + delta))
            self._mark_focus()

    def _mark_focus(self) -> None:
        for block in self.query(TrackBlock):
            block.set_class(block.track_id == self.focused_track, "-focused")
        if self.focused_track and self.is_mounted:
            blocks = [b for b in self.query(TrackBlock) if b.track_id == self.focused_track]
            if blocks:
                self.scroll_to_widget(blocks[0], animate=False)

    # ---- computing -----------------------------------------------------------------------------

    def refresh_status(self) -> None:
        """Re-read the store; the app calls this after each poll and when the database changes."""
        self._compute(self.clock())

    @work(thread=True, exclusive=True, group="status-panel", exit_on_error=False)
    def _compute(self, now: datetime) -> None:
        try:
            engine = StatusEngine(self.store, self.config)
            statuses = engine.compute(now)
            strips = self._strips(now, statuses, engine)
        except (StoreError, OSError) as exc:
            self.app.call_from_thread(self._show_error, str(exc))
            return
        # A newer refresh replaced this one while it ran: its result is already stale.
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, statuses, strips)

    def _strips(
        self, now: datetime, statuses: list[TrackStatus], engine: StatusEngine
    ) -> dict[str, list[str | None]]:
        """Status per day for the last STRIP_DAYS days, oldest first: stored history where there is
        some, computed for the days the monitor did not record (not written: the poller records)."""
        today = now.astimezone(self.tz).date()
        start = today - timedelta(days=STRIP_DAYS - 1)
        stored = {(e.track, e.day): e.status for e in self.store.status_history(since=start, until=today)}
        first = self.store.first_published()
        first_day = first.astimezone(self.tz).date() if first else today + timedelta(days=1)
        out: dict[str, list[str | None]] = {t: [] for t in self.track_ids}
        for offset in range(STRIP_DAYS):
            day: date = start + timedelta(days=offset)
            if day == today:
                for status in statuses:
                    out.setdefault(status.track, []).append(status.status)
                continue
            missing = [t for t in self.track_ids if (t, day.isoformat()) not in stored]
            computed: dict[str, str] = {}
            if missing and day >= first_day:
                computed = {s.track: s.status for s in engine.compute(day_end(day, self.config), full=False)}
            for track in self.track_ids:
                out[track].append(stored.get((track, day.isoformat()), computed.get(track)))
        return out

    def _show_error(self, error: str) -> None:
        self.message.update(Content(f"negotiation status unavailable: {safe(error)}"))
        self.message.display = True

    def _show(self, statuses: list[TrackStatus], strips: dict[str, list[str | None]]) -> None:
        self.statuses = {s.track: s for s in statuses}
        self.strips = strips
        self.message.display = False
        now = self.clock()
        for block in self.query(TrackBlock):
            status = self.statuses.get(block.track_id)
            if status is not None:
                block.update(self.block_content(status, self.strips.get(block.track_id, []), now))
        self._mark_focus()
        self.post_message(self.Computed())

    # ---- rendering -----------------------------------------------------------------------------

    def block_content(self, s: TrackStatus, strip: list[str | None], now: datetime) -> Content:
        """Everything from feeds goes in as plain text parts: nothing here is parsed as markup."""
        track = self.config.track(s.track)
        dim = "dim"
        parts: list[Part] = [
            badge(s.status),
            (f" {s.arrow} ", f"bold {STATUS_COLOURS.get(s.status, '')}"),
            (safe(track.title), f"bold {track.color}"),
            "\n",
            (safe(s.name), "italic"),
            "\n",
        ]
        if s.since:
            since = f"since {when(s.since, self.tz)} ({age((now - s.since).total_seconds())})"
        else:
            lookback = self.config.negotiation[s.track].tuning.lookback_days
            since = f"no signal for {lookback}d+" if s.status == "quiet" else f"since >{lookback}d"
        parts += [(f"{since} · {s.momentum}", dim), "\n"]
        if s.override:
            o = s.override
            parts += [
                ("analyst ", "bold"),
                badge(o.status),
                (f" {safe(o.set_by)}, {when(o.set_at, self.tz)}", dim),
                "\n",
            ]
            if o.note:
                parts += [("  “", dim), safe(o.note), ("”", dim), "\n"]
        parts += [safe(s.rationale), "\n"]
        if s.last_movement:
            m = s.last_movement
            parts += [
                (f"last {age((now - m.published).total_seconds())} ago ", dim),
                (safe(m.source), "bold"),
                " — ",
                clip(m.title, 160),
                "\n",
            ]
        for sentence in s.upcoming[:UPCOMING_SHOWN]:
            parts += [("next ", f"bold {STATUS_COLOURS['talks']}"), clip(sentence, UPCOMING_CHARS), "\n"]
        if s.actors:
            parts += [("actors ", dim), safe(", ".join(s.actors[:6])), "\n"]
        if s.venues:
            parts += [("venues ", dim), safe(", ".join(s.venues[:5])), "\n"]
        parts.append((f"{len(strip)}d ", dim))
        for day_status in strip:
            if day_status is None:
                parts.append(("·", dim))
            else:
                parts.append(("█", STATUS_COLOURS.get(day_status, "")))
        return Content.assemble(*parts)

    # ---- actions -------------------------------------------------------------------------------

    def action_override(self, track_id: str | None = None) -> None:
        """Set or clear the analyst status of `track_id` (default: the focused track)."""
        from monitor.tui.screens.status_override import OverrideChoice, StatusOverrideScreen

        track = track_id or self.focused_track
        if track is None or track not in self.track_ids:
            return
        self.select(track)
        computed = self.statuses.get(track)
        name = self.config.negotiation[track].name

        def apply(choice: OverrideChoice | None) -> None:
            if choice is None:
                return
            try:
                if choice.clear:
                    clear_override(self.store, track, self.clock())
                else:
                    set_override(self.store, track, choice.status, choice.note, self.clock())
            except StoreError as exc:
                self.notify(
                    f"could not save the analyst status: {safe(str(exc))}", severity="error", markup=False
                )
                return
            self.refresh_status()

        override = self.store.status_override(track)
        self.app.push_screen(
            StatusOverrideScreen(
                track_title=self.config.track(track).title,
                name=name,
                computed=computed.status if computed else None,
                current=override,
            ),
            apply,
        )

    def action_evidence(self) -> None:
        """List the items behind the focused track's status."""
        from monitor.tui.screens.evidence import EvidenceScreen

        track = self.focused_track
        status = self.statuses.get(track) if track else None
        if status is None:
            return
        self.app.push_screen(EvidenceScreen(self.store, self.config, self.clock, status))
