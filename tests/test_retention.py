"""Retention on real SQLite files: what a purge deletes and keeps, stories, search, and the FTS merge that
keeps the file from growing while the item count stays level."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import FeedConfig
from monitor.models import CleanEntry
from monitor.store import Store
from monitor.store.retention import META_DELETED, META_PENDING, fts_levels

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FEEDS = {
    "wire": "https://wire.example.com/feed",
    "daily": "https://daily.example.net/rss",
    "gazette": "https://www.gazette.example.org/world.xml",
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "monitor.db")
    s.sync_feeds([FeedConfig(url=url, title=name) for name, url in FEEDS.items()], NOW)
    yield s
    s.close()


def entry(key: str, title: str = "", summary: str = "", *, at: datetime = NOW) -> CleanEntry:
    return CleanEntry(
        id=key,
        guid=f"guid-{key}",
        link=f"https://example.org/{key}",
        title=title or f"Item {key}",
        summary=summary,
        published=at,
        date_estimated=False,
    )


def save(store: Store, entries: Sequence[CleanEntry], feed: str = "wire",
         tags: dict[str, dict[str, list[str]]] | None = None) -> list[str]:  # fmt: skip
    state = replace(store.feed_state(FEEDS[feed]), last_polled=NOW)  # type: ignore[arg-type]
    return store.save_poll(state, entries=entries, tags=tags or {}, source=feed.title(), now=NOW).new_ids


def rows(store: Store, sql: str, *args: object) -> list[tuple]:
    return store.conn.execute(sql, args).fetchall()


def fts_bytes(store: Store) -> int:
    """Bytes of FTS5 segment data (live postings plus deleted rows' postings and tombstones)."""
    return int(rows(store, "SELECT coalesce(sum(length(block)), 0) FROM items_fts_data")[0][0])


def used_pages(store: Store) -> int:
    """Pages the database file needs: its size less the free pages SQLite will reuse."""
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = rows(store, "PRAGMA page_count")[0][0]
    return int(pages - rows(store, "PRAGMA freelist_count")[0][0])


def fts_ok(store: Store) -> None:
    """FTS5's own check that the index matches the items table (raises if it does not)."""
    with store.write() as conn:
        conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")


def search_ids(store: Store, text: str) -> set[str]:
    return {item.id for item in store.query_items(search=text, limit=10_000)}


def fts_ids(store: Store, word: str) -> set[str]:
    """Items the index finds for one exact word."""
    sql = "SELECT i.id FROM items_fts JOIN items i ON i.rowid = items_fts.rowid WHERE items_fts MATCH ?"
    return {r[0] for r in rows(store, sql, f'"{word}"')}


def containing(store: Store, word: str) -> set[str]:
    """Items whose title or summary has the word, read from the items table itself."""
    return {
        r[0] for r in rows(store, "SELECT id, title, summary FROM items") if word in f"{r[1]} {r[2]}".split()
    }


# ---- what a purge deletes -----------------------------------------------------------------------


def test_purge_deletes_old_unstarred_items_with_everything_hanging_off_them(store: Store) -> None:
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=2)
    tracked = {key: {"gaza": ["Rafah"]} for key in ("old1", "old2", "new1")}
    save(
        store,
        [entry("old1", at=old), entry("old2", at=old), entry("star", at=old - timedelta(days=100)),
         entry("new1", at=recent), entry("edge", at=NOW - timedelta(days=30))],
        tags=tracked,
    )  # fmt: skip
    store.set_starred("star", True)
    store.claim_alert("old1", "gaza", old)
    store.claim_alert("new1", "gaza", recent)
    rowid = {r[0]: r[1] for r in rows(store, "SELECT id, rowid FROM items")}
    with store.write() as conn:  # what clustering and the negotiation reader keep per item
        for key in ("old1", "old2", "new1"):
            conn.execute("INSERT INTO cluster_members (item_rowid, published, vector) VALUES (?, 0, '{}')",
                         (rowid[key],))  # fmt: skip
            conn.execute("INSERT INTO cluster_terms (token, published, item_rowid) VALUES ('rafah', 0, ?)",
                         (rowid[key],))  # fmt: skip
            conn.execute("INSERT INTO negotiation_signals (track, published, item_rowid, source, weights, "
                         "detail) VALUES ('gaza', 0, ?, 'Wire', '{}', '{}')", (rowid[key],))  # fmt: skip

    assert store.purge_older_than(NOW - timedelta(days=30)) == 2

    assert {i.id for i in store.query_items(limit=100)} == {"star", "new1", "edge"}
    for table in ("item_tracks", "cluster_members", "cluster_terms", "negotiation_signals"):
        assert rows(store, f"SELECT item_rowid FROM {table}") == [(rowid["new1"],)], table
    pending = {r[0] for r in rows(store, "SELECT item_rowid FROM negotiation_pending")}
    assert rowid["old1"] not in pending and rowid["old2"] not in pending
    assert rows(store, "SELECT item_id FROM alerts_raised") == [("new1",)]
    assert store.purge_older_than(NOW - timedelta(days=30)) == 0


def set_story(store: Store, story: str, keys: Sequence[str]) -> None:
    """File items under one story the way the clusterer does (items.cluster_id plus a clusters row)."""
    from monitor.clustering import outlet_key
    from monitor.store.clusters import ClustersMixin

    with store.write() as conn:
        marks = ",".join("?" * len(keys))
        conn.execute(f"UPDATE items SET cluster_id = ? WHERE id IN ({marks})", (story, *keys))
        ClustersMixin._refresh_cluster(conn, story, outlet_key)


def test_purge_removes_emptied_stories_and_recounts_the_rest(store: Store) -> None:
    day = timedelta(days=1)
    save(store, [entry("a-wire", at=NOW - 40 * day), entry("b-wire", at=NOW - 45 * day)], "wire")
    save(store, [entry("a-daily", at=NOW - 39 * day), entry("c-daily", at=NOW - 50 * day)], "daily")
    save(store, [entry("a-gazette", at=NOW - 2 * day), entry("c-gazette", at=NOW - 50 * day)], "gazette")
    set_story(store, "story-a", ["a-wire", "a-daily", "a-gazette"])  # loses two outlets of three
    set_story(store, "story-b", ["b-wire"])  # loses its only item
    set_story(store, "story-c", ["c-daily", "c-gazette"])  # old, but one item is starred
    store.set_starred("c-gazette", True)
    before = store.cluster("story-a")
    assert before is not None and (before.outlets, before.items) == (3, 3)

    assert store.purge_older_than(NOW - 30 * day) == 4

    assert store.cluster("story-b") is None
    after = store.cluster("story-a")
    assert after is not None and (after.outlets, after.items) == (1, 1)
    assert after.first_published == after.last_published == NOW - 2 * day
    kept = store.cluster("story-c")
    assert kept is not None and (kept.outlets, kept.items) == (1, 1)
    assert [i.id for i in store.cluster_items("story-a")] == ["a-gazette"]
    assert store.get_item("a-gazette").cluster_size == 1  # type: ignore[union-attr]


def test_search_forgets_purged_items_and_still_finds_kept_ones(store: Store) -> None:
    old, recent = NOW - timedelta(days=60), NOW - timedelta(days=1)
    save(
        store,
        [entry("o1", "Ceasefire talks in Geneva", "Delegates met in Geneva", at=old),
         entry("o2", "Harbour strike ends", "Dockers return in Rotterdam", at=old),
         entry("n1", "Geneva talks resume", "A second round in Geneva", at=recent),
         entry("n2", "Rotterdam port reopens", "Ships queue outside", at=recent)],
    )  # fmt: skip
    store.fts_merge_min_rows = 1  # small database: let the purge merge the index too
    assert search_ids(store, "geneva") == {"o1", "n1"}

    store.purge_older_than(NOW - timedelta(days=30))

    assert store.get_meta(META_DELETED) == "0"  # the purge also ran the full merge
    assert search_ids(store, "geneva") == {"n1"}
    assert search_ids(store, "rotterdam") == {"n2"}
    assert search_ids(store, "dockers") == search_ids(store, "ceasefire") == set()
    assert fts_ids(store, "geneva") == {"n1"} and fts_ids(store, "dockers") == set()
    fts_ok(store)


# ---- when the FTS index is merged ---------------------------------------------------------------


def fill(
    store: Store, n: int, *, start: int = 0, hours_ago: int = 0, per_save: int = 5, seed: int = 1
) -> None:
    """n items, one an hour going back from `hours_ago`, saved a few per transaction like a poll cycle
    (each commit writes its own FTS5 segment), with varied words so the index has real doclists."""
    rng = random.Random(seed + start)
    words = [f"w{i}" for i in range(3000)]
    weights = [1 / (i + 1) for i in range(3000)]  # word frequencies fall off as in text: w7 is common
    batch: list[CleanEntry] = []
    for k in range(start, start + n):
        at = NOW - timedelta(hours=hours_ago + (k - start))
        batch.append(
            entry(
                f"i{k}",
                " ".join(rng.choices(words, weights, k=8)),
                " ".join(rng.choices(words, weights, k=40)),
                at=at,
            )
        )
        if len(batch) == per_save:
            save(store, batch)
            batch = []
    if batch:
        save(store, batch)


def test_fts_merge_starts_once_a_quarter_of_the_kept_rows_were_deleted(store: Store) -> None:
    store.fts_merge_min_rows = 10
    fill(store, 100)  # i0 at NOW .. i99 published 99 hours before

    def purge_oldest(n: int) -> None:
        oldest = rows(
            store, "SELECT max(published) FROM (SELECT published FROM items ORDER BY published LIMIT ?)", n
        )
        assert store.purge_older_than(datetime.fromtimestamp(oldest[0][0] + 1, UTC)) == n

    purge_oldest(10)  # 10 deleted, 90 kept: a merge needs 23
    assert (store.get_meta(META_DELETED), store.get_meta(META_PENDING)) == ("10", None)
    purge_oldest(12)  # 22: still short
    assert (store.get_meta(META_DELETED), store.get_meta(META_PENDING)) == ("22", None)
    assert store.maintain_fts() is None
    before = fts_bytes(store)

    purge_oldest(1)  # 23: due, and the purge runs it
    assert (store.get_meta(META_DELETED), store.get_meta(META_PENDING)) == ("0", "0")
    assert fts_bytes(store) < before  # the deleted rows' postings and their tombstones are gone
    assert store.maintain_fts() is None  # nothing deleted since: nothing due

    purge_oldest(5)
    assert store.get_meta(META_DELETED) == "5"  # the next round counts from zero
    assert fts_ids(store, "w7") == containing(store, "w7") != set()
    fts_ok(store)


def test_fts_merge_below_the_minimum_waits(store: Store) -> None:
    fill(store, 40)
    assert store.purge_older_than(NOW - timedelta(hours=19.5)) == 20  # half, but under 1,000 rows
    assert store.get_meta(META_DELETED) == "20"
    assert store.maintain_fts() is None


def test_fts_merge_spreads_over_purges_and_search_works_between_steps(store: Store) -> None:
    store.fts_merge_min_rows = 10
    store.fts_merge_pages = 4  # a few pages per write transaction
    store.fts_merge_seconds = 0  # one step per purge
    fill(store, 1200)
    store.purge_older_than(NOW - timedelta(hours=799.5))  # 400 of 1,200: due
    assert store.get_meta(META_PENDING) == "1"
    other = Store(store.path)  # another process (a viewer) between steps: reads and writes get through
    try:
        steps = 1
        while store.get_meta(META_PENDING) == "1":
            assert fts_ids(other, "w7") == containing(store, "w7") != set()
            other.set_starred("i0", steps % 2 == 1)
            assert store.maintain_fts() in ("merging", "merged")
            steps += 1
            assert steps < 1000
    finally:
        other.close()
    assert steps > 5  # it really was spread over several purges
    assert store.maintain_fts() is None
    assert fts_ids(store, "w7") == containing(store, "w7")
    fts_ok(store)


def test_a_structure_with_too_many_levels_is_rebuilt(store: Store) -> None:
    store.fts_merge_min_rows = 10
    fill(store, 200)
    assert fts_levels(store.conn) >= 1
    store.fts_level_limit = 1  # as if SQLite < 3.41 had added levels at every merge for years
    store.fts_merge_seconds = 0
    store.purge_older_than(NOW - timedelta(hours=99.5))  # 100 of 200
    assert store.get_meta(META_DELETED) == "0"
    assert store.get_meta(META_PENDING) == "0"  # a rebuild finishes in one go
    assert fts_ids(store, "w7") == containing(store, "w7") != set()
    fts_ok(store)


def test_merges_do_not_pile_up_structure_levels_past_the_limit(store: Store) -> None:
    """SQLite 3.40 adds empty levels at every full merge; the limit turns the next round into a rebuild,
    so the level count stays bounded however many rounds run."""
    store.fts_merge_min_rows = 10
    store.fts_level_limit = 12
    levels = []
    for round_ in range(30):
        fill(store, 40, start=round_ * 40, hours_ago=-round_ * 40)
        store.purge_older_than(NOW + timedelta(hours=round_ * 40 - 80, minutes=30))
        levels.append(fts_levels(store.conn))
    assert max(levels) <= 12 + 2
    assert store.count_items() == 80
    fts_ok(store)


# ---- the file levels off ------------------------------------------------------------------------


WINDOW, STEP, ROUNDS = 2000, 250, 40


def rolling_window(store: Store) -> tuple[list[int], list[int]]:
    """Keep a window of WINDOW items: every round publishes STEP new ones and retention drops the STEP
    oldest. Returns the FTS bytes and the used pages of the file after each round."""
    fts, pages = [], []
    for round_ in range(ROUNDS):
        newest = round_ * STEP
        fill(store, STEP, start=newest, hours_ago=-newest - STEP)
        store.purge_older_than(NOW + timedelta(hours=newest + STEP - WINDOW, minutes=30))
        fts.append(fts_bytes(store))
        pages.append(used_pages(store))
    assert store.count_items() == WINDOW
    return fts, pages


def test_database_levels_off_under_a_rolling_window(store: Store) -> None:
    store.fts_merge_min_rows = 100
    fts, pages = rolling_window(store)
    full = WINDOW // STEP  # the round the window is first full
    # Growth stops: the last rounds need no more room than the rounds right after the window filled.
    assert max(pages[-10:]) <= max(pages[full : full + 10]) * 1.05
    assert max(fts[-10:]) <= max(fts[full : full + 10]) * 1.05
    # And the index carries little dead weight: never more than 1.6 times a fully merged index.
    with store.write() as conn:
        conn.execute("INSERT INTO items_fts (items_fts) VALUES ('optimize')")
    assert max(fts[full:]) <= 1.6 * fts_bytes(store)
    fts_ok(store)


def test_without_the_merge_the_same_window_keeps_growing(store: Store) -> None:
    """The control for the test above: with the merge switched off, the same workload's index grows
    well past its live size, so the level-off above is the merge's doing."""
    store.fts_merge_min_rows = 10**9
    fts, _ = rolling_window(store)
    with store.write() as conn:
        conn.execute("INSERT INTO items_fts (items_fts) VALUES ('optimize')")
    assert max(fts) > 2 * fts_bytes(store)
