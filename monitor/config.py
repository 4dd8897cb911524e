"""Load, layer and validate configuration into frozen dataclasses; every error names file, key and problem."""

from __future__ import annotations

import functools
import os
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from datetime import tzinfo
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor import locations

DEFAULT_FILES = ("default.toml", "tracks.toml", "negotiation.toml")
"""Built-in files in `config/` (installed as `monitor.default_config`), layered in this order."""


class ConfigError(Exception):
    """A configuration problem, rendered as one line: `FILE: KEY: problem`."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        super().__init__(f"{file}: {key}: {problem}" if key else f"{file}: {problem}")


@dataclass(frozen=True, slots=True)
class Settings:
    """The `[settings]` table: how polling, storage and display behave."""

    poll_interval: int = 3600
    """Seconds between polls of one feed."""
    concurrency: int = 8
    """Requests in flight at once, across all hosts."""
    per_host: int = 2
    """Requests in flight at once to one host."""
    timeout: float = 30.0
    """Whole-request deadline in seconds (connect, headers and body together)."""
    connect_timeout: float = 10.0
    """Seconds allowed to open a connection."""
    max_bytes: int = 5 * 1024 * 1024
    """Cap on a decoded response body in bytes; larger feeds fail as too-large."""
    user_agent: str = "situation-monitor/0.1 (+https://github.com/situation-monitor; feed reader)"
    """User-Agent sent with every request."""
    timezone: str = ""
    """IANA zone for displayed times and digest days; empty means the machine's local zone."""
    retention_days: int = 0
    """Items older than this many days are deleted after a poll (starred items are kept); 0 keeps forever."""
    parse_timeout: float = 20.0
    """Seconds one feed may spend in the parser before it is abandoned as a parse error."""
    max_backoff: int = 86400
    """Upper bound in seconds for the back-off of a failing feed."""
    retry_after_max: int = 86400
    """Upper bound in seconds for a server's Retry-After."""
    gone_after: int = 3
    """Consecutive 410 responses after which a feed is marked gone and no longer polled."""
    digest_format: str = "md"
    """Format the TUI's `d` key writes: md, html or json."""
    digest_dir: str = ""
    """Folder the TUI's `d` key writes digests to; empty means the platform data dir's `digests`."""
    bell: bool = False
    """Ring the terminal bell when an alert term matches a new item."""
    pane_rows: int = 300
    """Rows each pane loads at a time; older rows page in through the query layer."""
    cluster_window_hours: float = 36.0
    """Items further apart than this never join the same story."""

    @property
    def tz(self) -> tzinfo:
        if self.timezone:
            return ZoneInfo(self.timezone)
        local = __import__("datetime").datetime.now().astimezone().tzinfo
        assert local is not None
        return local


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """One `[[feeds]]` entry."""

    url: str
    """The feed's http(s) address."""
    title: str = ""
    """Name shown as the item source; the feed's own title when empty."""


@dataclass(frozen=True, slots=True)
class TrackConfig:
    """One `[tracks.<id>]` table: a conflict the monitor follows and the words that identify it."""

    id: str
    """The key of the table (`gaza`, `ukraine`...); used on the command line."""
    title: str = ""
    """Name shown on the pane."""
    color: str = "#5fafd7"
    """Colour of the pane title and badges."""
    terms: dict[str, float] = field(default_factory=dict)
    """Term -> weight. Whole words only. Lowercase words match any case; all-caps words (acronyms) match
    exactly; other words match exactly except for their first letter. A trailing `*` matches any ending.
    Weight 2 or more tags on one mention; smaller weights need more evidence (see `threshold`)."""
    context: dict[str, float] = field(default_factory=dict)
    """Term -> weight for words shared by several conflicts (envoys, venues); they add weight but
    never tag an item on their own."""
    exclude: tuple[str, ...] = ()
    """Phrases whose presence removes the terms they contain from the score (e.g. `Gaza Strip club`)."""
    threshold: float = 2.0
    """Score an item must reach to be tagged with this track."""
    alerts: tuple[str, ...] = ()
    """Phrases that raise a toast (and the bell, if enabled) when a new item of this track matches."""


@dataclass(frozen=True, slots=True)
class Config:
    """The whole layered configuration."""

    settings: Settings
    feeds: tuple[FeedConfig, ...]
    tracks: tuple[TrackConfig, ...]
    negotiation: dict[str, Any]
    """Per-track negotiation tables, validated by `monitor.negotiation_config`."""
    user_file: Path | None = None
    """The user file layered over the defaults, if any."""

    def track(self, track_id: str) -> TrackConfig:
        for track in self.tracks:
            if track.id == track_id:
                return track
        raise KeyError(track_id)

    @property
    def track_ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.tracks)


def default_tables() -> list[tuple[str, dict[str, Any]]]:
    """The built-in TOML files shipped with the package, parsed, in layering order."""
    out = []
    root = resources.files("monitor.default_config")
    for name in DEFAULT_FILES:
        resource = root.joinpath(name)
        label = f"<built-in>/config/{name}"
        try:
            out.append((label, tomllib.loads(resource.read_text(encoding="utf-8"))))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(label, "", f"invalid TOML: {exc}") from None
    return out


def user_config_path(explicit: str | os.PathLike[str] | None) -> Path | None:
    """`--config FILE`, else `$SITMON_CONFIG`, else the platform config file if it exists."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("SITMON_CONFIG")
    if env:
        return Path(env)
    candidate = locations.default_config_file()
    return candidate if candidate.is_file() else None


def read_toml(path: Path) -> dict[str, Any]:
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(label, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(label, "", f"cannot read: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(label, "", f"invalid TOML: {exc}") from None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Layer the built-in files and the user file, and validate the result."""
    layers = default_tables()
    user_path = user_config_path(path)
    if user_path is not None:
        layers.append((str(user_path), read_toml(user_path)))
    return build_config(layers, user_path)


_TOP_LEVEL = {"settings", "feeds", "tracks", "negotiation"}


def build_config(layers: list[tuple[str, dict[str, Any]]], user_path: Path | None = None) -> Config:
    """Merge (file label, table) layers: settings key by key, feeds replaced, tracks merged deeply."""
    settings_raw: dict[str, Any] = {}
    settings_origin: dict[str, str] = {}
    feeds_raw: list[Any] = []
    feeds_origin = "<built-in>"
    tracks_raw: dict[str, dict[str, Any]] = {}
    track_origin: dict[str, str] = {}
    negotiation_raw: dict[str, Any] = {}
    negotiation_origin: dict[str, str] = {}

    for label, table in layers:
        for key in table:
            if key not in _TOP_LEVEL:
                raise ConfigError(
                    label, key, f"unknown table (expected one of {', '.join(sorted(_TOP_LEVEL))})"
                )
        if "settings" in table:
            section = _expect_table(table["settings"], label, "settings")
            for key, value in section.items():
                settings_raw[key] = value
                settings_origin[key] = label
        if "feeds" in table:
            if not isinstance(table["feeds"], list):
                raise ConfigError(label, "feeds", "must be an array of tables ([[feeds]])")
            feeds_raw = table["feeds"]
            feeds_origin = label
        if "tracks" in table:
            section = _expect_table(table["tracks"], label, "tracks")
            for track_id, body in section.items():
                body = _expect_table(body, label, f"tracks.{track_id}")
                tracks_raw[track_id] = _deep_merge(tracks_raw.get(track_id, {}), body)
                track_origin[track_id] = label
        if "negotiation" in table:
            section = _expect_table(table["negotiation"], label, "negotiation")
            for track_id, body in section.items():
                body = _expect_table(body, label, f"negotiation.{track_id}")
                negotiation_raw[track_id] = _deep_merge(negotiation_raw.get(track_id, {}), body)
                negotiation_origin[track_id] = label

    settings = _settings_from(settings_raw, settings_origin)
    feeds = tuple(_feed_from(raw, feeds_origin, i) for i, raw in enumerate(feeds_raw))
    seen: set[str] = set()
    for i, feed in enumerate(feeds):
        if feed.url in seen:
            raise ConfigError(feeds_origin, f"feeds[{i}].url", f"duplicate feed {feed.url}")
        seen.add(feed.url)
    tracks = tuple(_track_from(tid, body, track_origin[tid]) for tid, body in tracks_raw.items())

    from monitor.negotiation_config import parse_negotiation

    negotiation = parse_negotiation(negotiation_raw, negotiation_origin, {t.id for t in tracks})
    return Config(settings=settings, feeds=feeds, tracks=tracks, negotiation=negotiation, user_file=user_path)


def _expect_table(value: Any, label: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(label, key, f"must be a table, got {_type_name(value)}")
    return value


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__
    )


def check_value(value: Any, annotation: Any, label: str, key: str) -> Any:
    """Check one TOML value against a field annotation, converting lists to tuples and ints to floats."""
    origin = typing.get_origin(annotation)
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(label, key, f"must be a boolean, got {_type_name(value)}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(label, key, f"must be an integer, got {_type_name(value)}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(label, key, f"must be a number, got {_type_name(value)}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(label, key, f"must be a string, got {_type_name(value)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(label, key, f"must be an array, got {_type_name(value)}")
        inner = typing.get_args(annotation)[0]
        return tuple(check_value(v, inner, label, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(label, key, f"must be a table, got {_type_name(value)}")
        _, inner = typing.get_args(annotation)
        return {str(k): check_value(v, inner, label, f"{key}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        return value
    raise TypeError(f"unsupported config annotation {annotation!r}")


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    # Evaluating a class's string annotations compiles each one: once per class, not once per feed.
    return typing.get_type_hints(cls)


def build_dataclass(
    cls: Any, raw: dict[str, Any], origin: dict[str, str] | str, prefix: str, **fixed: Any
) -> Any:
    """Build a frozen dataclass from a TOML table, rejecting unknown keys and wrong types."""
    hints = _type_hints(cls)
    known = {f.name for f in fields(cls)} - set(fixed)
    kwargs: dict[str, Any] = dict(fixed)
    for key, value in raw.items():
        label = origin if isinstance(origin, str) else origin.get(key, "<built-in>")
        if key not in known:
            raise ConfigError(label, f"{prefix}.{key}", f"unknown key (known: {', '.join(sorted(known))})")
        kwargs[key] = check_value(value, hints[key], label, f"{prefix}.{key}")
    for f in fields(cls):
        if f.name not in kwargs and f.default is MISSING and f.default_factory is MISSING:
            label = origin if isinstance(origin, str) else "<built-in>"
            raise ConfigError(label, f"{prefix}.{f.name}", "required key is missing")
    return cls(**kwargs)


def _settings_from(raw: dict[str, Any], origin: dict[str, str]) -> Settings:
    settings: Settings = build_dataclass(Settings, raw, origin, "settings")

    def bad(key: str, problem: str) -> ConfigError:
        return ConfigError(origin.get(key, "<built-in>"), f"settings.{key}", problem)

    for key in (
        "poll_interval",
        "concurrency",
        "per_host",
        "max_bytes",
        "pane_rows",
        "max_backoff",
        "gone_after",
    ):
        if getattr(settings, key) < 1:
            raise bad(key, "must be at least 1")
    for key in ("timeout", "connect_timeout", "parse_timeout", "cluster_window_hours"):
        if getattr(settings, key) <= 0:
            raise bad(key, "must be greater than 0")
    if settings.retention_days < 0:
        raise bad("retention_days", "must be 0 (keep forever) or more")
    if settings.digest_format not in ("md", "html", "json"):
        raise bad("digest_format", f"must be md, html or json, got {settings.digest_format!r}")
    if not settings.user_agent.strip():
        raise bad("user_agent", "must not be empty")
    if settings.timezone:
        try:
            ZoneInfo(settings.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise bad("timezone", f"unknown timezone {settings.timezone!r}") from None
    return settings


def validate_feed_url(url: str) -> str | None:
    """Return a problem with a feed URL, or None when it is a usable http(s) address."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"must be an http or https URL, got {url!r}"
    if not parts.hostname:
        return f"has no host: {url!r}"
    return None


def _feed_from(raw: Any, label: str, index: int) -> FeedConfig:
    key = f"feeds[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(label, key, f"must be a table, got {_type_name(raw)}")
    feed: FeedConfig = build_dataclass(FeedConfig, raw, label, key)
    problem = validate_feed_url(feed.url)
    if problem:
        raise ConfigError(label, f"{key}.url", problem)
    return feed


def _track_from(track_id: str, raw: dict[str, Any], label: str) -> TrackConfig:
    if not track_id.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(label, f"tracks.{track_id}", "track id must be letters, digits, - or _")
    track: TrackConfig = build_dataclass(TrackConfig, raw, label, f"tracks.{track_id}", id=track_id)
    if not track.title:
        track = TrackConfig(
            **{**{f.name: getattr(track, f.name) for f in fields(track)}, "title": track_id.title()}
        )
    if not track.terms:
        raise ConfigError(label, f"tracks.{track_id}.terms", "a track needs at least one term")
    if track.threshold <= 0:
        raise ConfigError(label, f"tracks.{track_id}.threshold", "must be greater than 0")
    return track
