"""The demo: bundled fictional feeds served on 127.0.0.1, dates made recent, one poll fills every track."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from monitor.cli import main
from monitor.demo import DEMO_FEEDS, GONE_PATH, DemoServer, demo_config, feed_template, render_feed
from monitor.poller import Poller
from monitor.store import UNTRACKED, Store

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[DemoServer]:
    with DemoServer(clock=clock) as running:
        yield running


def test_bundled_feeds_are_many_fictional_rss_and_atom_items() -> None:
    templates = {feed.file: feed_template(feed) for feed in DEMO_FEEDS}
    assert 4 <= len(templates) <= 6
    assert any(feed.atom for feed in DEMO_FEEDS) and any(not feed.atom for feed in DEMO_FEEDS)
    entries = sum(len(re.findall(r"<(?:item|entry)>", text)) for text in templates.values())
    assert 60 <= entries <= 100
    for text in templates.values():
        hosts = set(re.findall(r"https?://([^/\"<]+)", text))
        assert all(host.endswith(".example") or host.endswith("w3.org") or host.endswith("purl.org")
                   for host in hosts), hosts  # fmt: skip


def test_placeholders_become_recent_dates_and_future_entries_wait() -> None:
    template = (
        "<rss><channel><item><title>a</title><pubDate>{{-3h}}</pubDate></item>"
        "<item><title>b</title><pubDate>{{+5m}}</pubDate></item></channel></rss>"
    )
    now_body = render_feed(template, start=START, now=START, atom=False).decode()
    assert "<title>b</title>" not in now_body
    [date] = re.findall(r"<pubDate>(.*?)</pubDate>", now_body)
    assert parsedate_to_datetime(date) == START - timedelta(hours=3)
    later = render_feed(template, start=START, now=START + timedelta(minutes=5), atom=False).decode()
    assert "<title>b</title>" in later
    atom = render_feed("<feed><updated>{{-1d2h30m}}</updated></feed>", start=START, now=START, atom=True)
    assert b"<updated>2026-11-19T09:30:00Z</updated>" in atom


def test_server_answers_with_etags_and_304(server: DemoServer, clock: Clock) -> None:
    url = server.base_url + DEMO_FEEDS[0].path
    first = httpx.get(url)
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/rss+xml")
    etag = first.headers["etag"]
    again = httpx.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    clock.now += timedelta(minutes=15)  # withheld entries are released: the body and its ETag change
    changed = httpx.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert httpx.get(server.base_url + GONE_PATH).status_code == 404


def test_one_poll_gives_every_track_items(server: DemoServer, clock: Clock, tmp_path: Path) -> None:
    config = demo_config(server, digest_dir=tmp_path / "digests")
    assert config.settings.poll_interval <= 60
    assert {t.id for t in config.tracks} >= {"gaza", "ukraine", "venezuela"}
    store = Store(tmp_path / "demo.db")
    poller = Poller(config, store, clock=clock)
    try:
        report = asyncio.run(poller.poll_once(force=True))
        assert report.new_items >= 50 and report.failing == 1  # the deliberately defunct feed
        for track in ("gaza", "ukraine", "venezuela"):
            assert store.count_items(track) >= 10, track
        assert store.query_items(track=UNTRACKED)  # some world news matches no track
        clock.now += timedelta(minutes=15)
        later = asyncio.run(poller.poll_once(force=True))
        assert later.new_items > 0  # news keeps arriving while the demo runs
    finally:
        poller.close()
        store.close()


def test_cli_demo_without_tui_polls_once_and_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-tui", "--once"]) == 0
    out = capsys.readouterr().out
    assert "polled 6 feeds" in out
    for title in ("Gaza", "Ukraine", "Venezuela"):
        line = next(line for line in out.splitlines() if line.strip().startswith(title))
        assert int(line.split()[1]) > 0, line
