"""ParsePool: real worker processes parsing, cleaning and tagging feed bodies."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.models import CleanEntry
from monitor.parse import ParseError
from monitor.pipeline import ParsePool
from tests.conftest import REPO_ROOT, fresh_python

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
    b"<item><title>Envoys head to Doha after Putin talks</title><guid>a</guid>"
    b"<link>https://news.example/a</link></item>"
    b"<item><title>Kyiv and Washington meet in Miami</title><guid>b</guid></item>"
    b"</channel></rss>"
)


@pytest.fixture
def pool() -> ParsePool:
    pool = ParsePool(load_config(None).tracks, timeout=10.0)
    yield pool
    pool.close()


async def test_bodies_sent_while_the_workers_start_are_parsed(pool: ParsePool) -> None:
    pool.start()  # returns at once; the workers come up in a thread
    pool.start()  # a second call while starting changes nothing
    processed = await pool.process(
        FEED, "application/rss+xml", "https://news.example/", "https://news.example/", NOW
    )
    assert [e.title for e in processed.entries] == [
        "Envoys head to Doha after Putin talks",
        "Kyiv and Washington meet in Miami",
    ]
    assert processed.tags[processed.entries[1].id] == {"ukraine": ["Kyiv", "Miami"]}


async def test_a_pool_closed_while_starting_parses_again_afterwards(pool: ParsePool) -> None:
    pool.start()
    pool.close()
    with pytest.raises(ParseError):
        await pool.process(b"not a feed", "text/html", "https://x.example/", "https://x.example/", NOW)
    processed = await pool.process(FEED, None, "https://news.example/", "https://news.example/", NOW)
    assert len(processed.entries) == 2


async def test_the_first_body_starts_the_workers_off_the_event_loop(
    pool: ParsePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spawning waits for the fork server to import the parser: on the loop, every fetch stalled."""
    spawned_from: list[str] = []
    submit = ProcessPoolExecutor.submit

    def record(self: ProcessPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        if not spawned_from:
            spawned_from.append(threading.current_thread().name)
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", record)
    processed = await pool.process(FEED, None, "https://news.example/", "https://news.example/", NOW)
    assert len(processed.entries) == 2
    assert spawned_from == ["sitmon-parse-pool-start"]


KILLED_POLLER = """
import asyncio, os, signal, sys
from datetime import UTC, datetime
from monitor.config import load_config
from monitor.pipeline import ParsePool
from multiprocessing import forkserver

async def main() -> None:
    pool = ParsePool(load_config(None).tracks, timeout=10.0)
    await pool.process(sys.argv[2].encode(), None, "https://x.example/", "https://x.example/", datetime.now(UTC))
    pids = [forkserver._forkserver._forkserver_pid, *(p.pid for p in pool._pool._processes.values())]
    with open(sys.argv[1], "w") as out:
        out.write(" ".join(map(str, pids)))
    os.kill(os.getpid(), signal.SIGKILL)  # no close(), no atexit: as when the terminal is closed

if __name__ == "__main__":
    asyncio.run(main())
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_the_workers_and_fork_server_end_when_the_poller_is_killed(tmp_path: Path) -> None:
    script, pid_file = tmp_path / "poller.py", tmp_path / "pids"
    script.write_text(KILLED_POLLER)
    subprocess.run(
        [sys.executable, str(script), str(pid_file), FEED.decode()],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # orphans holding a captured pipe would keep run() waiting
        timeout=60,
        check=False,
    )
    pids = [int(pid) for pid in pid_file.read_text().split()]
    assert len(pids) == 3  # the fork server and two workers

    def alive() -> list[int]:
        # A zombie is gone as far as work and memory go; only init has yet to reap it.
        return [pid for pid in pids if Path(f"/proc/{pid}").exists() and _state(pid) != "Z"]

    deadline = time.monotonic() + 15
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    left = alive()
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def test_clean_entries_cross_processes_unchanged() -> None:
    entries = [
        CleanEntry(
            "id1", "guid1", "https://news.example/a", "Title", "Summary\nline", NOW, False, "Ann Author"
        ),
        CleanEntry("id2", "guid2", None, "Untitled", "", NOW, True),
    ]
    copies = pickle.loads(pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL))
    assert copies == entries
    assert [type(c) for c in copies] == [CleanEntry, CleanEntry]


def test_the_fork_server_preload_leaves_out_the_polling_side() -> None:
    # The fork server imports FORK_SERVER_PRELOAD before its first worker can start: asyncio (the
    # pool's side), httpx or the store there would only delay every cold poll's first parse.
    from monitor.fork_server import FORK_SERVER_PRELOAD

    preload = [module for module in FORK_SERVER_PRELOAD if module != "__main__"]
    assert "monitor.parse_worker" in preload
    code = (
        f"import sys; import {', '.join(preload)};"
        "print(sorted(m for m in ('asyncio', 'httpx', 'sqlite3', 'feedparser', 'monitor.pipeline') if m in sys.modules))"
    )
    assert fresh_python(code) == "[]"
