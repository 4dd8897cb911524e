"""CLI contract: the core never imports Textual; feeds add/remove/import/export edit the user file safely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomlkit

from monitor.cli import main
from monitor.config import load_config
from tests.conftest import fresh_python


def test_core_modules_never_import_textual() -> None:
    code = (
        "import sys, monitor.cli, monitor.poller, monitor.store, monitor.config, monitor.fetch, monitor.parse, "
        "monitor.clean, monitor.tagging, monitor.pipeline, monitor.ingest_hooks, monitor.commands.poll, monitor.commands.items, "
        "monitor.commands.feeds; print('textual' in sys.modules)"
    )
    assert fresh_python(code) == "False"


def test_a_poll_starts_fetching_before_loading_the_parser_or_the_analysis() -> None:
    # The polling process parses in worker processes and analyses once the cycle is stored: importing
    # either before the first request would only delay it (about 0.2 s together).
    code = (
        "import sys, monitor.cli, monitor.commands.poll, monitor.ingest_hooks, monitor.store;"
        "from monitor.config import load_config;"
        "store = monitor.store.Store(':memory:');"
        "monitor.ingest_hooks.make_poller(load_config(None), store);"
        "print(sorted(m for m in ('lxml', 'feedparser', 'monitor.parse', 'monitor.tagging', 'monitor.clustering',"
        " 'monitor.negotiation.engine', 'sqlite_utils') if m in sys.modules))"
    )
    assert fresh_python(code) == "[]"


def test_help_needs_no_config_or_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--config", str(tmp_path / "missing.toml"), "--help"])
    assert done.value.code == 0
    assert "poll" in capsys.readouterr().out


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text("# my settings\n[settings]\npoll_interval = 600 # ten minutes\n")
    return path


def run(args: list[str], user_file: Path, tmp_path: Path) -> int:
    return main(["--config", str(user_file), "--db", str(tmp_path / "m.db"), *args])


def test_feeds_add_seeds_defaults_and_keeps_comments(user_file: Path, tmp_path: Path) -> None:
    defaults = len(load_config(user_file).feeds)
    assert run(["feeds", "add", "https://example.org/rss", "--title", "Example"], user_file, tmp_path) == 0
    text = user_file.read_text()
    assert "# my settings" in text and "# ten minutes" in text
    config = load_config(user_file)
    assert len(config.feeds) == defaults + 1
    assert config.feeds[-1].url == "https://example.org/rss" and config.feeds[-1].title == "Example"


def test_feeds_add_refuses_non_http_url(
    user_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["feeds", "add", "file:///etc/passwd"], user_file, tmp_path) == 2
    assert "http or https" in capsys.readouterr().err
    assert "feeds" not in tomlkit.parse(user_file.read_text())


def test_feeds_remove(user_file: Path, tmp_path: Path) -> None:
    run(["feeds", "add", "https://example.org/rss"], user_file, tmp_path)
    assert run(["feeds", "remove", "https://example.org/rss"], user_file, tmp_path) == 0
    assert "https://example.org/rss" not in [f.url for f in load_config(user_file).feeds]
    assert run(["feeds", "remove", "https://example.org/rss"], user_file, tmp_path) == 1


def test_feeds_import_and_export_opml_round_trip(
    user_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opml = tmp_path / "in.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body><outline text="News">'
        '<outline type="rss" text="A" xmlUrl="https://a.example/feed"/>'
        '<outline type="rss" text="Bad" xmlUrl="javascript:alert(1)"/>'
        '<outline type="rss" title="B" text="b" xmlUrl="https://b.example/rss"/></outline></body></opml>'
    )
    assert run(["feeds", "import", str(opml)], user_file, tmp_path) == 0
    urls = [f.url for f in load_config(user_file).feeds]
    assert "https://a.example/feed" in urls and "https://b.example/rss" in urls
    assert not any(u.startswith("javascript") for u in urls)
    out = tmp_path / "out.opml"
    assert run(["feeds", "export", "--output", str(out)], user_file, tmp_path) == 0
    text = out.read_text()
    assert 'xmlUrl="https://a.example/feed"' in text and 'title="B"' in text and 'version="2.0"' in text


def test_feeds_list_json_before_any_poll(
    user_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run(["feeds", "list", "--format", "json"], user_file, tmp_path) == 0
    feeds = json.loads(capsys.readouterr().out)
    assert feeds and all(f["status"] == "never-polled" and f["items"] == 0 for f in feeds)
    assert {
        "url",
        "title",
        "status",
        "last_polled",
        "last_error",
        "error_count",
        "next_poll",
        "items",
    } <= set(feeds[0])


def test_items_rejects_unknown_track(
    user_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["items", "--track", "mars"], user_file, tmp_path) == 2
    assert "unknown track 'mars'" in capsys.readouterr().err
