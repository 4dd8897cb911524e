"""TUI fixtures: a seeded SQLite file, a frozen clock and a factory for the real app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.config import Config
from monitor.store import Store
from monitor.tui.app import MonitorApp
from tests.tui.seed import NOW, make_config, seed


class Clock:
    """A clock that only moves when a test moves it."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "monitor.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store(db_path)
    seed(s)
    yield s
    s.close()


@pytest.fixture
def config() -> Config:
    return make_config()


AppFactory = Callable[..., MonitorApp]


@pytest.fixture
def make_app(store: Store, config: Config, clock: Clock) -> AppFactory:
    """The real app over the seeded database; viewer mode (no poller) unless a test passes one."""

    def build(**kwargs: Any) -> MonitorApp:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("watch_interval", None)
        return MonitorApp(kwargs.pop("config", config), kwargs.pop("store", store), **kwargs)

    return build
