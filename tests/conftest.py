"""Shared fixtures: the optional ../shared corpus, temporary databases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


def fresh_python(code: str) -> str:
    """What `code` prints when run in a fresh interpreter: how tests see what a module imports."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


@pytest.fixture
def shared_dir() -> Path:
    """The team's shared folder beside the repo; tests that need it skip cleanly when it is absent."""
    if not SHARED_DIR.is_dir():
        pytest.skip("../shared is not present")
    return SHARED_DIR


@pytest.fixture
def realfeeds_dir(shared_dir: Path) -> Path:
    path = shared_dir / "realfeeds"
    if not path.is_dir():
        pytest.skip("../shared/realfeeds is not present")
    return path


def make_config(feeds: list[tuple[str, str]] | list[str], **settings: object):  # type: ignore[no-untyped-def]
    """The built-in config with these feeds (url or (url, title)) and settings overridden, as a user file would."""
    from monitor.config import build_config, default_tables

    feed_tables = [
        {"url": f, "title": ""} if isinstance(f, str) else {"url": f[0], "title": f[1]} for f in feeds
    ]
    user = {"settings": dict(settings), "feeds": feed_tables}
    return build_config([*default_tables(), ("<test>", user)])
