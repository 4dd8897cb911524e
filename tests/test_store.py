"""Store: real SQLite files; dedup, in-place edits, FTS, paging, reader state, retention, crash safety."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import FeedConfig
from monitor.models import CleanEntry, FeedStatus
from monitor.store import ALL, UNTRACKED, Store, StoreError, fts_query
from monitor.store.items import PollSave

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FEED = "https://example.org/feed.xml"


def entry(n: int, title: str = "", summary: str = "", hours_ago: float = 0) -> CleanEntry:
    return CleanEntry(
        id=f"id{n}",
        guid=f"guid{n}",
        link=f"https://example.org/{n}",
        title=title or f"Item {n}",
        summary=summary,
        published=NOW - timedelta(hours=hours_ago or n),
        date_estimated=False,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "monitor.db")
    s.sync_feeds([FeedConfig(url=FEED, title="Example")], NOW)
    yield s
    s.close()


def save(store: Store, entries: list[CleanEntry], tags: dict | None = None) -> tuple[list[str], list[str]]:
    state = replace(store.feed_state(FEED), last_polled=NOW)  # type: ignore[arg-type]
    result = store.save_poll(state, entries=entries, tags=tags or {}, source="Example", now=NOW)
    return result.new_ids, result.updated_ids


def test_database_uses_wal_and_current_schema(store: Store) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert store.integrity_ok()


def test_repolling_never_duplicates_and_edits_update_in_place(store: Store) -> None:
    assert save(store, [entry(1), entry(2)]) == (["id1", "id2"], [])
    assert save(store, [entry(1), entry(2)]) == ([], [])
    edited = replace(entry(1), title="Item 1 (updated)")
    assert save(store, [edited, entry(2)]) == ([], ["id1"])
    assert store.count_items() == 2
    assert store.get_item("id1").title == "Item 1 (updated)"  # type: ignore[union-attr]
    assert [i.id for i in store.query_items(search="updated")] == ["id1"]


def test_duplicate_ids_within_one_feed_keep_the_first(store: Store) -> None:
    assert save(store, [entry(1, "first"), replace(entry(1), title="second")]) == (["id1"], [])
    assert store.get_item("id1").title == "first"  # type: ignore[union-attr]


def test_tracks_and_matched_terms_round_trip(store: Store) -> None:
    save(store, [entry(1, "Talks in Rafah"), entry(2, "Weather")], {"id1": {"gaza": ["Rafah"]}})
    [item] = store.query_items(track="gaza")
    assert item.tracks == ("gaza",) and item.matched == {"gaza": ["Rafah"]}
    assert [i.id for i in store.query_items(track=UNTRACKED)] == ["id2"]
    assert [i.id for i in store.query_items(track=ALL)] == ["id1", "id2"]


def test_newest_first_and_keyset_paging_covers_everything_once(store: Store) -> None:
    save(store, [entry(n) for n in range(1, 26)])
    seen: list[str] = []
    before = None
    while True:
        page = store.query_items(limit=10, before=before)
        if not page:
            break
        seen.extend(i.id for i in page)
        before = (page[-1].published, page[-1].rowid)
    assert seen == [f"id{n}" for n in range(1, 26)]


def test_search_is_full_text_with_prefix_and_safe_for_any_input(store: Store) -> None:
    save(store, [entry(1, "Envoys head to Doha"), entry(2, "Strike on Caracas weighed")])
    assert [i.id for i in store.query_items(search="doh")] == ["id1"]
    assert [i.id for i in store.query_items(search="caracas strike")] == ["id2"]
    for hostile in ['"', "NEAR(", "a OR", "*", "title:x", "[/", "')--"]:
        store.query_items(search=hostile)  # must not raise
    assert fts_query("  ") is None


def fts_consistent(store: Store) -> bool:
    """FTS5's own check that the index holds exactly the content table's text."""
    try:
        store.conn.execute("INSERT INTO items_fts (items_fts, rank) VALUES ('integrity-check', 1)")
    except sqlite3.DatabaseError:
        return False
    return True


def test_full_text_index_follows_batched_saves_edits_and_deletes(store: Store) -> None:
    other = "https://example.net/feed.xml"
    store.sync_feeds([FeedConfig(url=FEED, title="Example"), FeedConfig(url=other, title="Other")], NOW)
    states = [replace(store.feed_state(url), last_polled=NOW) for url in (FEED, other)]  # type: ignore[arg-type]
    # One transaction: the second feed carries the first one's item with new text, so the row is
    # edited before the batch's new rows were indexed.
    first = PollSave(states[0], NOW, [entry(1, "Ceasefire talks open in Cairo"), entry(2, "Kyiv grid hit")])
    second = PollSave(
        states[1], NOW, [entry(1, "Ceasefire talks collapse in Cairo"), entry(3, "Doha envoys")]
    )
    results = store.save_polls([first, second])
    assert [(r.new_ids, r.updated_ids) for r in results] == [(["id1", "id2"], []), (["id3"], ["id1"])]  # type: ignore[union-attr]
    assert fts_consistent(store)
    assert [i.id for i in store.query_items(search="collapse")] == ["id1"]
    assert store.query_items(search="open") == []
    assert [i.id for i in store.query_items(search="kyiv")] == ["id2"]
    assert [i.id for i in store.query_items(search="doha")] == ["id3"]
    save(store, [entry(4, "Caracas strike weighed")])
    store.purge_older_than(NOW + timedelta(days=1))
    assert fts_consistent(store)
    assert store.query_items(search="caracas") == []


def test_a_database_from_before_bulk_indexing_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    Store(path).close()
    with sqlite3.connect(path) as conn:  # as schema version 5 left it: an insert trigger, a link index
        conn.execute(
            "CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN INSERT INTO items_fts (rowid, title, summary) "
            "VALUES (new.rowid, new.title, new.summary); END"
        )
        conn.execute("CREATE INDEX items_link ON items (link)")
        conn.execute("PRAGMA user_version = 5")
    store = Store(path)
    store.sync_feeds([FeedConfig(url=FEED, title="Example")], NOW)
    save(store, [entry(1, "Envoys head to Doha")])
    assert [i.id for i in store.query_items(search="doha")] == ["id1"]
    assert fts_consistent(store)  # indexed once, not twice
    indexes = {row[0] for row in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "items_link" not in indexes and "items_published" in indexes
    store.close()


def test_since_until_filters(store: Store) -> None:
    save(store, [entry(n) for n in range(1, 6)])
    got = store.query_items(
        since=NOW - timedelta(hours=3, minutes=1), until=NOW - timedelta(hours=1, minutes=30)
    )
    assert [i.id for i in got] == ["id2", "id3"]


def test_read_star_and_unread_counts(store: Store) -> None:
    save(store, [entry(1), entry(2), entry(3)], {"id1": {"gaza": ["Gaza"]}, "id2": {"gaza": ["Gaza"]}})
    assert store.unread_counts(["gaza"]) == {"gaza": 2, ALL: 3}
    store.set_read(["id1"])
    assert store.unread_counts(["gaza"]) == {"gaza": 1, ALL: 2}
    assert [i.id for i in store.query_items(track="gaza", unread_only=True)] == ["id2"]
    store.mark_track_read("gaza")
    assert store.unread_counts(["gaza"]) == {"gaza": 0, ALL: 1}
    store.set_starred("id3", True)
    assert [i.id for i in store.query_items(starred_only=True)] == ["id3"]


def test_hourly_counts_for_sparkline(store: Store) -> None:
    save(store, [entry(1, hours_ago=0.5), entry(2, hours_ago=0.7), entry(3, hours_ago=5.5)])
    counts = store.hourly_counts(None, NOW)
    assert len(counts) == 24 and counts[-1] == 2 and counts[-6] == 1 and sum(counts) == 3


def test_retention_deletes_old_unstarred_items_and_their_index(store: Store) -> None:
    save(
        store,
        [
            entry(1, "keep", hours_ago=1),
            entry(2, "old one", hours_ago=500),
            entry(3, "old starred", hours_ago=600),
        ],
    )
    store.set_starred("id3", True)
    assert store.purge_older_than(NOW - timedelta(days=7)) == 1
    assert {i.id for i in store.query_items()} == {"id1", "id3"}
    assert store.query_items(search="one") == []


def test_alert_is_claimed_once_per_item_and_track(store: Store) -> None:
    save(store, [entry(1)])
    assert store.claim_alert("id1", "gaza", NOW) is True
    assert store.claim_alert("id1", "gaza", NOW) is False


def test_feed_state_records_errors_and_status(store: Store) -> None:
    state = replace(
        store.feed_state(FEED),  # type: ignore[arg-type]
        status=FeedStatus.FAILING,
        last_polled=NOW,
        error_count=2,
        error_kind="timeout",
        last_error="timed out after 30 s",
        next_poll=NOW + timedelta(minutes=10),
    )
    store.save_poll(state, now=NOW)
    got = store.feed_state(FEED)
    assert got is not None and got.status is FeedStatus.FAILING and got.error_count == 2
    assert got.last_error == "timed out after 30 s"
    assert store.due_feeds(NOW) == [] and len(store.due_feeds(NOW, force=True)) == 1


def test_failed_transaction_writes_nothing(store: Store) -> None:
    state = replace(store.feed_state(FEED), last_polled=NOW, etag='"new"')  # type: ignore[arg-type]
    bad = replace(entry(2), guid=None)  # type: ignore[arg-type]  # violates NOT NULL mid-batch
    with pytest.raises(StoreError):
        store.save_poll(state, entries=[entry(1), bad], source="Example", now=NOW)
    assert store.count_items() == 0
    assert store.feed_state(FEED).etag is None  # type: ignore[union-attr]


def test_read_only_database_gives_clear_error_and_keeps_reading(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    s = Store(path)
    s.sync_feeds([FeedConfig(url=FEED, title="Example")], NOW)
    s.save_poll(replace(s.feed_state(FEED), last_polled=NOW), entries=[entry(1)], source="E", now=NOW)  # type: ignore[arg-type]
    s.close()
    ro = Store.__new__(Store)
    ro.path = path
    # Open read-only through SQLite's own flag: the same failure a read-only file or mount gives.
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    import threading

    ro._local = threading.local()
    ro._local.conn = conn
    ro._all = [conn]
    ro._lock = threading.Lock()
    assert [i.id for i in ro.query_items()] == ["id1"]
    with pytest.raises(StoreError, match="read-only"):
        ro.set_read(["id1"])
    assert ro.get_item("id1").read is False  # type: ignore[union-attr]


def test_two_processes_write_without_lock_errors(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    Store(path).close()
    script = textwrap.dedent(
        f"""
        import sys
        from datetime import datetime, UTC
        from monitor.store import Store
        from monitor.config import FeedConfig
        s = Store({str(path)!r})
        for n in range(60):
            with s.write() as c:
                c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (sys.argv[1] + str(n), "x"))
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, tag], stderr=subprocess.PIPE) for tag in "ab"]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()
    s = Store(path)
    assert s.conn.execute("SELECT count(*) FROM meta").fetchone()[0] == 120
