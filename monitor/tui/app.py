"""The Textual app: owns store, config, clock and poller; the main screen does the showing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from monitor.config import Config
from monitor.models import FeedPollReport, PollReport
from monitor.store import Store
from monitor.tui.keys import MAIN_KEYS
from monitor.tui.messages import FeedPolled, PollerStopped, PollFinished, PollStarted
from monitor.tui.screens.main import MainScreen

if TYPE_CHECKING:
    from monitor.poller import Poller

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class MonitorApp(App[None]):
    """`poller=None` is viewer mode: a separate `sitmon poll` writes and the app watches the database."""

    CSS_PATH = "monitor.tcss"
    TITLE = "situation monitor"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit"),
        Binding("question_mark", "help", "help", key_display="?"),
    ]

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Clock = utc_now,
        poller: Poller | None = None,
        notice: str | None = None,
        watch_interval: float | None = 2.0,
    ) -> None:
        super().__init__()
        self.config = config
        self.store = store
        self.clock = clock
        self.poller = poller
        self.notice = notice
        self.main = MainScreen(
            store, config, clock, mode="polling" if poller else "viewer", watch_interval=watch_interval
        )
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        if poller is not None:
            from monitor.fork_server import start_fork_server

            start_fork_server()  # while sys.stderr is still the real one (see its docstring)

    def get_default_screen(self) -> Screen[Any]:
        return self.main

    def on_mount(self) -> None:
        if self.notice:
            self.notify(self.notice, severity="warning", timeout=10, markup=False)
        if self.poller is not None:
            self.run_poller()

    # ---- polling ------------------------------------------------------------------------------

    @work(exclusive=True, group="poller", exit_on_error=False)
    async def run_poller(self) -> None:
        """Poller.run_forever on the app's event loop: network waits are async, parsing runs in
        worker processes and SQLite in threads, so input never waits for a poll."""
        poller = self.poller
        assert poller is not None
        main = self.main
        poll_once = poller.poll_once

        async def announced_poll_once(**kwargs: Any) -> PollReport:
            main.post_message(PollStarted(self.clock()))
            return await poll_once(**kwargs)

        def feed_done(report: FeedPollReport) -> None:
            main.post_message(FeedPolled(report))

        def cycle_done(report: PollReport) -> None:
            main.post_message(PollFinished(report))

        poller.poll_once = announced_poll_once  # type: ignore[method-assign]
        poller.on_feed = feed_done
        await poller.run_forever(self._stop, self._wake, on_cycle=cycle_done)

    def poll_now(self) -> bool:
        """Wake the poll loop; False in viewer mode (another process polls)."""
        if self.poller is None:
            return False
        self._wake.set()
        return True

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "poller" and event.state is WorkerState.ERROR:
            self.main.post_message(PollerStopped(str(event.worker.error)))

    async def action_quit(self) -> None:
        self._stop.set()
        self.exit()

    # ---- help and the command palette ---------------------------------------------------------

    def action_help(self) -> None:
        from monitor.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for n, track in enumerate(self.config.tracks[:9]):
            yield SystemCommand(
                f"Track: {track.title}",
                f"Focus and expand the {track.title} pane ({n + 1})",
                lambda n=n: self._on_main(f"focus_track({n})"),
            )
        panel = self.main.status_panel
        if hasattr(panel, "action_override"):
            # The negotiation panel's `n` works on its focused block; the palette reaches any track.
            for track in self.config.tracks:
                if track.id in self.config.negotiation:
                    yield SystemCommand(
                        f"Analyst status: {track.title}",
                        f"Set or clear the negotiation status of {track.title} by hand",
                        lambda t=track.id: panel.action_override(t),
                    )
        for key in MAIN_KEYS:
            if not key.palette or key.action == "app.quit":
                continue
            label = key.display or key.keys
            action = key.action
            if action.startswith("app."):
                yield SystemCommand(
                    key.command,
                    f"{key.help} ({label})",
                    lambda a=action: self.run_action(a.removeprefix("app.")),
                )
            else:
                yield SystemCommand(key.command, f"{key.help} ({label})", lambda a=action: self._on_main(a))

    async def _on_main(self, action: str) -> None:
        # Palette commands act on the main screen, whichever screen the palette was opened over.
        while self.screen is not self.main and len(self.screen_stack) > 1:
            self.pop_screen()
        await self.main.run_action(action)
