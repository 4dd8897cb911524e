"""Packaging: every package ships, and a non-editable install finds its config and assets from anywhere."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

from tests.conftest import REPO_ROOT


def test_every_package_under_monitor_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set(find_packages(str(REPO_ROOT), include=["monitor", "monitor.*"]))
    # Data-only folders are listed too, so setuptools ships them without warning at every install.
    assert found | {"monitor.default_config", "monitor.demo_feeds"} == listed


def test_default_config_is_data_only() -> None:
    config_dir = REPO_ROOT / "config"
    assert {p.suffix for p in config_dir.iterdir() if p.is_file()} <= {".toml", ".py"}
    assert (config_dir / "__init__.py").read_text().count("\n") == 1  # docstring only, no code


def test_assets_exist_where_package_data_expects_them() -> None:
    monitor = REPO_ROOT / "monitor"
    assert list(monitor.glob("tui/*.tcss"))
    assert list(Path(monitor, "demo_feeds").glob("*.xml"))
