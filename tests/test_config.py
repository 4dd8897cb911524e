"""Configuration: layering rules, defaults, and one clear line (exit 2) for every bad file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import ConfigError, load_config

BAD = Path(__file__).parent / "data" / "bad_config"

# file -> (key named in the message, words of the problem)
BAD_CASES = {
    "syntax_error.toml": ("", "invalid TOML"),
    "unknown_setting.toml": ("settings.poll_intervall", "unknown key"),
    "wrong_type.toml": ("settings.concurrency", "must be an integer"),
    "unknown_timezone.toml": ("settings.timezone", "unknown timezone"),
    "bad_feed_url.toml": ("feeds[0].url", "http or https"),
    "feed_url_no_host.toml": ("feeds[0].url", "no host"),
    "track_wrong_type.toml": ("tracks.gaza.threshold", "must be a number"),
    "track_without_terms.toml": ("tracks.sudan.terms", "at least one term"),
    "unknown_table.toml": ("colours", "unknown table"),
    "zero_max_bytes.toml": ("settings.max_bytes", "at least 1"),
    "feed_missing_url.toml": ("feeds[0].url", "required"),
    "bool_wrong_type.toml": ("settings.bell", "boolean"),
}


def test_defaults_load_with_three_tracks_and_real_feeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SITMON_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = load_config(None)
    assert config.track_ids[:3] == ("gaza", "ukraine", "venezuela")
    assert len(config.feeds) >= 20
    assert all(f.url.startswith("https://") and f.title for f in config.feeds)
    assert config.settings.poll_interval == 3600
    assert config.settings.concurrency == 8 and config.settings.per_host == 2
    assert config.settings.max_bytes == 5 * 1024 * 1024
    assert config.user_file is None


def test_user_settings_override_key_by_key(tmp_path: Path) -> None:
    user = tmp_path / "c.toml"
    user.write_text('[settings]\npoll_interval = 120\ntimezone = "Europe/Kyiv"\n')
    config = load_config(user)
    assert config.settings.poll_interval == 120
    assert config.settings.concurrency == 8  # untouched default
    assert str(config.settings.tz) == "Europe/Kyiv"


def test_user_feeds_replace_the_default_list(tmp_path: Path) -> None:
    user = tmp_path / "c.toml"
    user.write_text('[[feeds]]\nurl = "https://example.org/feed.xml"\ntitle = "Example"\n')
    config = load_config(user)
    assert [f.url for f in config.feeds] == ["https://example.org/feed.xml"]


def test_user_tracks_merge_with_defaults_and_add_new_tracks(tmp_path: Path) -> None:
    user = tmp_path / "c.toml"
    user.write_text(
        '[tracks.gaza]\ntitle = "Gaza war"\nterms = { "Deir al-Balah" = 3.0 }\n'
        '[tracks.sudan]\ntitle = "Sudan"\nterms = { "Khartoum" = 3.0, "RSF" = 3.0 }\n'
    )
    config = load_config(user)
    gaza = config.track("gaza")
    assert gaza.title == "Gaza war"
    assert gaza.terms["Deir al-Balah"] == 3.0
    assert "Hamas" in gaza.terms  # default terms kept
    assert config.track_ids[-1] == "sudan"
    assert config.track("sudan").terms == {"Khartoum": 3.0, "RSF": 3.0}


def test_config_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "env.toml"
    user.write_text("[settings]\nper_host = 1\n")
    monkeypatch.setenv("SITMON_CONFIG", str(user))
    assert load_config(None).settings.per_host == 1


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_bad_config_raises_error_naming_file_key_and_problem(name: str) -> None:
    key, words = BAD_CASES[name]
    with pytest.raises(ConfigError) as caught:
        load_config(BAD / name)
    message = str(caught.value)
    assert name in message
    assert key in message
    assert words in message


def test_every_bad_config_file_has_a_case() -> None:
    assert {p.name for p in BAD.glob("*.toml")} == set(BAD_CASES)


@pytest.mark.parametrize("name", ["syntax_error.toml", "unknown_setting.toml", "unknown_timezone.toml"])
def test_cli_bad_config_prints_one_line_and_exits_2(name: str, tmp_path: Path) -> None:
    env = {**os.environ, "SITMON_DB": str(tmp_path / "x.db")}
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(BAD / name), "items"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert name in lines[0] and BAD_CASES[name][1] in lines[0]


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")
