"""The one-line poll summary: last poll, next poll, feeds ok / failing, offline notice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo

from textual.content import Content
from textual.style import Style
from textual.widget import Widget

from monitor.models import FeedState, FeedStatus
from monitor.tui.format import clock_time

NETWORK_ERRORS = {"dns", "connect", "timeout", "tls"}


def offline_from_states(feeds: Sequence[FeedState]) -> str | None:
    """The offline notice worked out from stored feed states (viewer mode has no poll report)."""
    polled = [f for f in feeds if f.status is not FeedStatus.NEVER_POLLED]
    if not feeds or len(polled) < len(feeds):
        return None
    if not all(f.status in (FeedStatus.FAILING, FeedStatus.GONE) for f in polled):
        return None
    if all(f.error_kind in NETWORK_ERRORS for f in polled):
        return f"offline: none of {len(polled)} feeds could be reached (network down?)"
    return f"all {len(polled)} feeds are failing"


class StatusLine(Widget):
    """Says when the database was last polled and how the feeds are doing."""

    DEFAULT_CSS = """
    StatusLine { height: 1; }
    """

    def __init__(
        self, *, tz: tzinfo, clock: Callable[[], datetime], mode: str, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.tz = tz
        self.clock = clock
        self.mode = mode
        """`polling` when this process polls, `viewer` when a separate `sitmon poll` does."""
        self.feeds: list[FeedState] = []
        self.next_due: datetime | None = None
        self.polling = False
        self.progress = (0, 0)
        self.notice: str | None = None
        """Offline / all-failing notice from the last poll report (wins over the stored states)."""
        self.stopped: str | None = None

    def update_feeds(self, feeds: list[FeedState], next_due: datetime | None) -> None:
        self.feeds = feeds
        self.next_due = next_due
        self.refresh()

    def render(self) -> Content:
        now = self.clock()
        ok = sum(1 for f in self.feeds if f.status in (FeedStatus.OK, FeedStatus.NOT_MODIFIED))
        failing = sum(1 for f in self.feeds if f.status in (FeedStatus.FAILING, FeedStatus.GONE))
        last = max((f.last_polled for f in self.feeds if f.last_polled), default=None)
        parts: list[str | tuple[str, str | Style]] = []
        warn = Style(bold=True, reverse=True)
        notice = self.notice if self.notice is not None else offline_from_states(self.feeds)
        if self.stopped:
            parts += [(f" poller stopped: {self.stopped} ", warn), " "]
        elif notice:
            parts += [(f" {notice} ", warn), " "]
        if self.polling:
            done, total = self.progress
            parts.append((f"polling… {done}/{total} feeds" if total else "polling…", Style(bold=True)))
        else:
            parts.append(f"last poll {clock_time(last, self.tz, now)}")
        if self.mode == "polling" or self.next_due is not None:
            parts.append(f" · next {clock_time(self.next_due, self.tz, now)}")
        parts.append(f" · feeds {ok} ok")
        if failing:
            parts += [" · ", (f"{failing} failing", Style(bold=True))]
        pending = len(self.feeds) - ok - failing
        if pending:
            parts.append(f" · {pending} not polled yet")
        if self.mode == "viewer":
            parts.append(("  [viewer: `sitmon poll` writes]", Style(dim=True)))
        return Content.assemble(*parts).truncate(self.size.width, ellipsis=True)
