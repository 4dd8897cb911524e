"""The status panel over a seeded database with a frozen clock: snapshot, keys, override modal, evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from monitor.negotiation import record_daily_history
from monitor.tui.screens.evidence import EvidenceScreen
from monitor.tui.screens.item_detail import ItemDetailScreen
from monitor.tui.screens.status_override import StatusOverrideScreen
from monitor.tui.widgets.status_panel import StatusPanel
from tests.test_negotiation_fixtures import Seeder, day, make_config
from tests.tui.helpers import screen_text

NOW = day(9, 3)
"""The frozen clock: day 9 of the scenario, 12:00 UTC."""
HOSTILE = "[@click=app.quit]q[/] Hamas walks out of Gaza talks [/"


def seeded(path: Path) -> Seeder:
    seeder = Seeder(path, make_config())
    seeder.add("Israel and Hamas hold Gaza ceasefire talks in Cairo", at=day(2), source="Harbor Wire")
    seeder.add("Gaza truce talks reach deadlock over Hamas disarmament", at=day(5), source="Meridian Ledger")
    seeder.add(HOSTILE, "Gaza negotiations collapsed in Doha.", at=day(8), source="Coastline [b]Dispatch")
    seeder.add(
        "Ukraine and Russia hold peace talks in Geneva",
        "Witkoff met Umerov. A new round is scheduled for tomorrow in Abu Dhabi.",
        at=day(9),
        source="Harbor Wire",
    )
    seeder.add("Pentagon weighs strikes against Venezuela", at=day(9, 1), source="Meridian Ledger")
    # The poller records one row per day; leave a gap so the strip also computes missing days.
    record_daily_history(seeder.store, seeder.config, day(4, 14), days=5)
    record_daily_history(seeder.store, seeder.config, NOW, days=2)
    return seeder


class PanelApp(App[object]):
    """The smallest app that mounts the panel the way the main screen does."""

    def __init__(self, seeder: Seeder) -> None:
        super().__init__()
        self.seeder = seeder
        self.panel = StatusPanel(seeder.store, seeder.config, lambda: NOW, id="status-panel")

    def compose(self) -> ComposeResult:
        yield self.panel

    def on_mount(self) -> None:
        self.panel.refresh_status()
        self.panel.focus()


async def ready(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.fixture
def app(tmp_path: Path) -> PanelApp:
    return PanelApp(seeded(tmp_path / "monitor.db"))


def test_panel_snapshot(tmp_path: Path, snap_compare: Any) -> None:
    assert snap_compare(PanelApp(seeded(tmp_path / "snap.db")), terminal_size=(52, 40), run_before=ready)


async def test_blocks_show_status_name_since_rationale_and_hostile_text_literally(app: PanelApp) -> None:
    async with app.run_test(size=(60, 70)) as pilot:
        await ready(pilot)
        assert app.is_running  # the [@click=app.quit] headline did nothing
        text = screen_text(app)
        assert "BREAKDOWN" in text and "Gaza ceasefire: Phase Two" in text
        assert "TALKS" in text and "Russia–Ukraine peace talks" in text
        assert "ESCALATION" in text
        assert "[@click=app.quit]q[/]" in text and "talks [/" in text
        assert "Coastline [b]Dispatch" in text
        assert "next A new round is scheduled for tomorrow" in text
        assert "30d " in text and "█" in text
        assert app.panel.statuses["gaza"].status == "breakdown"


async def test_up_down_move_between_tracks(app: PanelApp) -> None:
    async with app.run_test(size=(60, 70)) as pilot:
        await ready(pilot)
        assert app.panel.focused_track == "gaza"
        await pilot.press("down")
        assert app.panel.focused_track == "ukraine"
        await pilot.press("down", "down")
        assert app.panel.focused_track == "venezuela"
        await pilot.press("up")
        assert app.panel.focused_track == "ukraine"
        assert app.panel.query_one("#status-ukraine").has_class("-focused")


async def test_n_sets_then_clears_the_analyst_status(app: PanelApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITMON_ANALYST", "alice")
    async with app.run_test(size=(60, 70)) as pilot:
        await ready(pilot)
        await pilot.press("n")
        assert isinstance(app.screen, StatusOverrideScreen)
        statuses = app.screen.query_one("#override-statuses", OptionList)
        statuses.highlighted = 2  # stalled
        await pilot.press("enter")  # choose the status: focus moves to the note
        assert isinstance(app.screen.focused, Input)
        await pilot.press(*"walkout is tactical")
        await pilot.press("enter")
        await ready(pilot)
        assert not isinstance(app.screen, StatusOverrideScreen)
        override = app.seeder.store.status_override("gaza")
        assert override is not None and (override.status, override.note, override.set_by) == (
            "stalled",
            "walkout is tactical",
            "alice",
        )
        assert app.panel.statuses["gaza"].override == override
        assert app.panel.statuses["gaza"].status == "breakdown"  # computed status kept beside it
        text = screen_text(app)
        assert "analyst  STALLED  alice" in text and "walkout is tactical" in text

        await pilot.press("n")
        await pilot.click("#override-clear")
        await ready(pilot)
        assert app.seeder.store.status_override("gaza") is None
        assert [c.action for c in app.seeder.store.override_history("gaza")] == ["clear", "set"]

        await pilot.press("n", "escape")
        assert not isinstance(app.screen, StatusOverrideScreen)


async def test_action_override_takes_a_track_for_the_app_to_forward(app: PanelApp) -> None:
    async with app.run_test(size=(60, 70)) as pilot:
        await ready(pilot)
        app.panel.action_override("venezuela")
        await pilot.pause()
        assert isinstance(app.screen, StatusOverrideScreen)
        assert app.panel.focused_track == "venezuela"
        await pilot.click("#override-set")
        await ready(pilot)
        override = app.seeder.store.status_override("venezuela")
        assert override is not None and override.status == "escalation"  # preselected: the computed one


async def test_enter_lists_the_evidence_and_opens_an_item(app: PanelApp) -> None:
    async with app.run_test(size=(100, 40)) as pilot:
        await ready(pilot)
        await pilot.press("enter")
        assert isinstance(app.screen, EvidenceScreen)
        listing = app.screen.query_one("#evidence-list", OptionList)
        assert [o.id for o in listing._options] == app.panel.statuses["gaza"].evidence
        text = screen_text(app)
        assert HOSTILE in text and "breakdown" in text
        await pilot.press("enter")
        assert isinstance(app.screen, ItemDetailScreen)
        await pilot.press("escape", "escape")
        assert app.screen.query_one(StatusPanel) is app.panel
