"""Helpers for Pilot tests: wait for the app's workers, read the screen as plain text."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot


async def settle(pilot: Pilot[Any], rounds: int = 2) -> None:
    """Let debounce timers fire, worker threads finish and their results be applied."""
    main = getattr(pilot.app, "main", None)
    for _ in range(rounds):
        for _ in range(100):
            if getattr(main, "_refresh_timer", None) is None:
                break
            await pilot.pause(0.03)
        await pilot.pause()
        # The poll loop never completes: wait for everything else (reads, paging, alerts, digest).
        busy = [worker for worker in pilot.app.workers if worker.group != "poller"]
        if busy:  # an empty list would mean "every worker" to wait_for_complete
            await pilot.app.workers.wait_for_complete(busy)
    await pilot.pause()


def screen_text(app: App[Any]) -> str:
    """What the terminal would show, as text (the same render an SVG screenshot uses)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()
