"""Platform directories for config, data and the default database; functions so nothing is computed at import."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "situation-monitor"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_config_file() -> Path:
    return config_dir() / "config.toml"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    return data_dir() / "monitor.db"


def db_path(explicit: str | os.PathLike[str] | None) -> Path:
    """`--db FILE`, else `$SITMON_DB`, else the platform data dir."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("SITMON_DB")
    if env:
        return Path(env)
    return default_db_path()


def default_digest_dir() -> Path:
    return data_dir() / "digests"
