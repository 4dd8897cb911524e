"""ParsePool: real worker processes parsing, cleaning and tagging feed bodies."""

from __future__ import annotations

import pickle
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.config import load_config
from monitor.models import CleanEntry
from monitor.parse import ParseError
from monitor.pipeline import ParsePool

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
