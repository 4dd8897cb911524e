"""End to end on real outlets' feeds (../shared/realfeeds) served over HTTP on 127.0.0.1 through `sitmon poll`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.clean import clean_entry
from monitor.cli import main
from monitor.parse import ParseError, parse_feed
from tests.http_fixtures import Route, serve

CONTENT_TYPES = {".xml": "application/xml", ".rss": "application/rss+xml"}


def feed_files(realfeeds: Path) -> list[Path]:
    return sorted(p for p in realfeeds.iterdir() if p.suffix in CONTENT_TYPES)


def expected_ids(path: Path, url: str) -> set[str]:
    try:
        parsed = parse_feed(path.read_bytes(), content_type=CONTENT_TYPES[path.suffix], url=url)
    except ParseError:
        return set()
    now = datetime.now(UTC)
    return {e.id for raw in parsed.entries if (e := clean_entry(raw, feed_url=url, now=now)) is not None}


def test_poll_ingests_every_parseable_item_then_only_conditional_requests(
    realfeeds_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = feed_files(realfeeds_dir)
    routes = {
        f"/{p.name}": Route(
            body=p.read_bytes(),
            headers={"Content-Type": CONTENT_TYPES[p.suffix]},
            etag=f'"{p.stat().st_size}"',
        )
        for p in files
    }
    with serve(routes) as server:
        config = tmp_path / "config.toml"
        config.write_text(
            "[settings]\ntimeout = 10.0\nparse_timeout = 30.0\n"
            + "".join(f'[[feeds]]\nurl = "{server.url("/" + p.name)}"\n' for p in files)
        )
        db = tmp_path / "real.db"
        args = ["--config", str(config), "--db", str(db)]
        assert main([*args, "poll", "--once"]) == 0
        first = capsys.readouterr().out
        assert main([*args, "items", "--limit", "100000", "--format", "json"]) == 0
        stored = json.loads(capsys.readouterr().out)
        by_feed: dict[str, set[str]] = {}
        for item in stored:
            by_feed.setdefault(item["feed_url"], set()).add(item["id"])
        for p in files:
            url = server.url("/" + p.name)
            assert by_feed.get(url, set()) == expected_ids(p, url), p.name
        assert len(stored) > 800
        requests_before = len(server.requests)
        assert main([*args, "poll", "--once", "--force"]) == 0
        second = capsys.readouterr().out
        later = server.requests[requests_before:]
    assert len(later) == len(files)
    assert all(r.headers.get("if-none-match") for r in later)
    assert "polled" in first and f"polled {len(files)} feeds" in second
    assert " 0 new items" in second
