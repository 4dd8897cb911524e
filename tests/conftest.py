"""Shared fixtures: the optional ../shared corpus, temporary databases."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


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
