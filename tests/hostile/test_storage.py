"""Storage and process faults: kill -9 mid-poll, a viewer beside a busy writer, a second poller."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from monitor.store import Store
from tests.http_fixtures import Route, serve

FEEDS = 24
ITEMS = 40


def feed_body(n: int) -> bytes:
    items = "".join(
        f"<item><title>Feed {n} story {i} from Kyiv</title><guid>f{n}-{i}</guid>"
        f"<link>https://news.example/{n}/{i}</link><description>{'text ' * 50}</description></item>"
        for i in range(ITEMS)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>F{n}</title>{items}</channel></rss>'.encode()


def sitmon(config: Path, db: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "--db", str(db), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_kill_9_during_a_large_poll_loses_nothing_committed(tmp_path: Path) -> None:
    # Later feeds answer later, so the kill lands while some feeds are stored and others are in flight.
    routes = {f"/f{n}": Route(body=feed_body(n), delay=0.15 * n) for n in range(FEEDS)}
    with serve(routes) as server:
        config = tmp_path / "c.toml"
        config.write_text(
            "[settings]\nconcurrency = 24\nper_host = 24\ntimeout = 20.0\n"
            + "".join(f'[[feeds]]\nurl = "{server.url(f"/f{n}")}"\n' for n in range(FEEDS))
        )
        db = tmp_path / "k.db"
        proc = sitmon(config, db, "poll", "--once")
        deadline = time.monotonic() + 30
        committed = 0
        while time.monotonic() < deadline and committed < 4:
            time.sleep(0.05)
            if db.exists():
                try:
                    store = Store(db)
                    committed = store.conn.execute(
                        "SELECT count(*) FROM feeds WHERE last_polled IS NOT NULL"
                    ).fetchone()[0]
                    store.close()
                except Exception:
                    committed = 0
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        store = Store(db)
        assert store.integrity_ok()
        polled = [s for s in store.feed_states() if s.last_polled is not None]
        assert 4 <= len(polled) < FEEDS
        assert all(s.items == ITEMS for s in polled)  # each committed feed has every one of its items
        store.close()
        again = sitmon(config, db, "poll", "--once")
        _, err = again.communicate(timeout=60)
        assert again.returncode == 0, err.decode()
    store = Store(db)
    assert store.integrity_ok()
    assert all(s.items == ITEMS for s in store.feed_states())
    assert store.count_items() == FEEDS * ITEMS


WRITER = textwrap.dedent(
    """
    import sys, time
    from dataclasses import replace
    from datetime import UTC, datetime
    from monitor.config import FeedConfig
    from monitor.models import CleanEntry
    from monitor.store import Store
    store = Store(sys.argv[1])
    url = "https://writer.example/feed"
    now = datetime.now(UTC)
    store.sync_feeds([FeedConfig(url=url, title="W")], now)
    state = store.feed_state(url)
    for n in range(int(sys.argv[2])):
        entry = CleanEntry(id=f"w{n}", guid=f"w{n}", link=None, title=f"Kyiv update {n}", summary="x" * 500,
                           published=datetime.now(UTC), date_estimated=False)
        store.save_poll(replace(state, last_polled=datetime.now(UTC)), entries=[entry],
                        tags={f"w{n}": {"ukraine": ["Kyiv"]}}, source="W", now=datetime.now(UTC))
        time.sleep(0.1)
    print("writer done")
    """
)


def test_viewer_beside_a_writer_committing_every_100ms_sees_no_lock_errors(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    Store(db).close()
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    viewer = Store(db)
    versions = set()
    seen = 0
    try:
        while writer.poll() is None:
            versions.add(viewer.data_version())
            items = viewer.query_items(track="ukraine", limit=50)
            viewer.unread_counts(["ukraine"])
            viewer.query_items(search="kyiv", limit=20)
            if items:
                viewer.set_read([items[0].id])  # the viewer writes too (marking read)
            seen = max(seen, len(items))
            time.sleep(0.02)
        out, err = writer.communicate(timeout=30)
    finally:
        viewer.close()
    assert writer.returncode == 0 and b"writer done" in out, err.decode()
    assert b"locked" not in err
    assert len(versions) > 5  # the viewer noticed the writer's commits cheaply
    assert seen == 30


def test_second_poller_on_one_database_refuses_with_a_clear_message(tmp_path: Path) -> None:
    with serve({"/slow": Route(body=feed_body(0), delay=4)}) as server:
        config = tmp_path / "c.toml"
        config.write_text(f'[settings]\ntimeout = 10.0\n[[feeds]]\nurl = "{server.url("/slow")}"\n')
        db = tmp_path / "p.db"
        first = sitmon(config, db, "poll", "--once")
        lock = Path(f"{db}.poll-lock")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (lock.exists() and lock.read_text().startswith("pid")):
            time.sleep(0.05)
        second = sitmon(config, db, "poll", "--once")
        _, err = second.communicate(timeout=30)
        first.communicate(timeout=30)
    assert second.returncode == 1
    assert "another poller" in err.decode() and "Traceback" not in err.decode()
    assert first.returncode == 0
