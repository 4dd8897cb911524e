"""Snapshots of the main screen (80x24 and 200x50), the item detail and feed health, frozen clock, seeded DB."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from tests.tui.conftest import AppFactory
from tests.tui.helpers import settle


async def ready(pilot: Pilot[Any]) -> None:
    await settle(pilot)


async def detail(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("down", "enter")
    await settle(pilot)


async def feeds(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("f")
    await settle(pilot)


def test_main_80x24(make_app: AppFactory, snap_compare: Any) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=ready)


def test_main_200x50(make_app: AppFactory, snap_compare: Any) -> None:
    assert snap_compare(make_app(), terminal_size=(200, 50), run_before=ready)


def test_item_detail(make_app: AppFactory, snap_compare: Any) -> None:
    assert snap_compare(make_app(), terminal_size=(100, 30), run_before=detail)


def test_feed_health(make_app: AppFactory, snap_compare: Any) -> None:
    assert snap_compare(make_app(), terminal_size=(120, 24), run_before=feeds)
