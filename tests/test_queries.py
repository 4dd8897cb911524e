"""The query layer at scale: search plans give the rows a plain full-text match gives, feed states
without counts, and a search prepared once for every pane.

The thresholds that pick a search plan are lowered so a database of a few thousand rows takes every
plan a million-item one does; the rows are checked against an oracle that shares no code with the plans
(every match from FTS5, then the pane's own rows filtered and cut in Python).
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import monitor.store.queries as queries
from monitor.config import FeedConfig
from monitor.models import CleanEntry, FeedStatus, Item
from monitor.store import ALL, UNTRACKED, Store, fts_query
from monitor.store.queries import SearchMatches
from monitor.tui.view_data import Cancelled, ViewQuery, cancellable, load_view, view_parts

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FEEDS = 12
PER_FEED = 250
TRACKS = ("gaza", "ukraine", "venezuela")
WORDS = ("geneva", "genevan", "grain", "kyiv", "talks", "envoys", "harbor", "zebra")
"""Vocabulary of the generated text; each item draws words with different odds (see `_text`)."""
ODDS = {
    "geneva": 0.3,
    "genevan": 0.02,
    "grain": 0.2,
    "kyiv": 0.01,
    "talks": 0.5,
    "envoys": 0.1,
    "harbor": 0.05,
}


def _text(rng: random.Random) -> tuple[str, str]:
    words = [w for w, p in ODDS.items() if rng.random() < p]
    rng.shuffle(words)
    title = " ".join(["Report", *words[:2]])
    summary = " ".join(["The", "desk", *words[2:], "said"]) + (" Genève" if rng.random() < 0.05 else "")
    return title, summary


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """3,000 items in one block of rowids per feed (each feed saved in one go, a year of dates each),
    the layout of the benchmark database that makes a pane's newest rows spread over many rowid runs."""
    path = tmp_path_factory.mktemp("queries") / "monitor.db"
    store = Store(path)
    rng = random.Random(7)
    feeds = [FeedConfig(f"https://feed{f}.example/rss", f"Feed {f}") for f in range(FEEDS)]
    store.sync_feeds(feeds, NOW)
    for f, feed in enumerate(feeds):
        entries, tags = [], {}
        for n in range(PER_FEED):
            title, summary = _text(rng)
            item_id = f"f{f}-{n}"
            entries.append(
                CleanEntry(
                    id=item_id,
                    guid=item_id,
                    link=f"https://feed{f}.example/{n}",
                    title=title,
                    summary=summary,
                    published=NOW - timedelta(hours=(PER_FEED - n) * 35 + f),
                    date_estimated=False,
                )
            )
            chosen = [t for t in TRACKS if rng.random() < 0.25]
            if chosen:
                tags[item_id] = {t: ["term"] for t in chosen}
        state = replace(store.feed_state(feed.url), last_polled=NOW)  # type: ignore[arg-type]
        store.save_poll(state, entries=entries, tags=tags, source=feed.title, now=NOW)
    # Some read, some starred: filters must hold under every plan.
    store.mark_track_read(ALL, upto=NOW - timedelta(days=200))
    yield store
    store.close()


_PANES: dict[tuple[str, bool], list[Item]] = {}
_MATCHED: dict[str, set[int]] = {}


def oracle(
    store: Store, track: str, text: str, limit: int, *, unread_only: bool = False, before: Item | None = None
) -> list[str]:
    """The pane's rows (no search) filtered by every match FTS5 gives for `fts_query(text)`."""
    query = fts_query(text)
    if query is None:
        return []
    if query not in _MATCHED:
        found = store.conn.execute("SELECT rowid FROM items_fts WHERE items_fts MATCH ?", (query,))
        _MATCHED[query] = {r for (r,) in found}
    if (track, unread_only) not in _PANES:
        _PANES[track, unread_only] = store.query_items(track=track, limit=10**6, unread_only=unread_only)
    rows = _PANES[track, unread_only]
    if before is not None:
        rows = [i for i in rows if (i.published, i.rowid) < (before.published, before.rowid)]
    return [i.id for i in rows if i.rowid in _MATCHED[query]][:limit]


PLANS = {
    # plan -> thresholds that force it on this database
    SearchMatches.FEW: {"FEW_MATCHES": 10**6},
    SearchMatches.COLLECT: {"FEW_MATCHES": 1, "MANY_MATCHES": 10**6},
    SearchMatches.WALK: {"FEW_MATCHES": 1, "MANY_MATCHES": 5, "SAMPLE": 500, "RANGE_GAP": 4},
}


@pytest.mark.parametrize("plan", list(PLANS))
@pytest.mark.parametrize(
    "text", ["geneva", "gene", "genevan", "kyiv", "talks gen", "grain kyiv", "genève", "zebra"]
)
def test_every_plan_gives_the_rows_a_plain_match_gives(
    big: Store, monkeypatch: pytest.MonkeyPatch, plan: str, text: str
) -> None:
    for name, value in PLANS[plan].items():
        monkeypatch.setattr(queries, name, value)
    matches = big.search_matches(text)
    if text == "geneva":
        assert matches.plan == plan
    for track in (ALL, UNTRACKED, *TRACKS):
        for unread_only in (False, True):
            for limit in (1, 7, 60):
                got = big.query_items(track=track, limit=limit, unread_only=unread_only, matches=matches)
                assert [i.id for i in got] == oracle(big, track, text, limit, unread_only=unread_only), (
                    track,
                    unread_only,
                    limit,
                )
                if got:  # the next page, keyset after the last row
                    page = big.query_items(
                        track=track,
                        limit=limit,
                        unread_only=unread_only,
                        matches=big.search_matches(text),
                        before=(got[-1].published, got[-1].rowid),
                    )
                    expected = oracle(big, track, text, limit, unread_only=unread_only, before=got[-1])
                    assert [i.id for i in page] == expected


def test_a_walk_that_finds_the_word_rare_in_a_pane_finishes_by_collecting(
    big: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "kyiv" is in one item in a hundred: the first step finds too few, the rest is collected.
    for name, value in PLANS[SearchMatches.WALK].items():
        monkeypatch.setattr(queries, name, value)
    monkeypatch.setattr(queries, "MANY_MATCHES", 1)
    matches = big.search_matches("kyiv")
    assert matches.plan == SearchMatches.WALK
    seen: list[str] = []
    big.conn.set_trace_callback(seen.append)
    try:
        got = big.query_items(track=ALL, limit=20, matches=matches)
    finally:
        big.conn.set_trace_callback(None)
    assert [i.id for i in got] == oracle(big, ALL, "kyiv", 20)
    assert any("+i.rowid IN (SELECT rowid FROM items_fts" in sql for sql in seen)  # collected the rest
    assert any("BETWEEN r.lo AND r.hi" in sql for sql in seen)  # after a first step by rowid ranges


def test_a_last_word_beginning_few_words_is_searched_as_those_words(big: Store) -> None:
    # "geneve" is how the index holds "Genève" (diacritics removed).
    matches = big.search_matches("talks Gene")
    assert matches.expression == '"talks" AND ("geneva" OR "genevan" OR "geneve")'
    assert big.search_matches("geneva").expression == '("geneva" OR "genevan")'
    assert big.search_matches("Kyiv").expression == '"kyiv"'
    # Not ASCII: left to the tokenizer, as a prefix.
    assert big.search_matches("genè").expression == '"genè"*'


def test_a_common_beginning_stays_a_prefix(big: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "PREFIX_TERMS", 1)
    monkeypatch.setattr(queries, "FEW_MATCHES", 10)
    matches = big.search_matches("gen")
    assert matches.expression == '"gen"*' and matches.plan == SearchMatches.COLLECT
    got = big.query_items(track=ALL, limit=30, matches=matches)
    assert [i.id for i in got] == oracle(big, ALL, "gen", 30)


def test_nothing_to_match_reads_no_rows(big: Store) -> None:
    for text in ("zebra", "qqq", "  ", "!!"):
        matches = big.search_matches(text)
        assert matches.expression is None and matches.plan == SearchMatches.NONE
        assert big.query_items(track="gaza", matches=matches) == []


def test_search_matches_never_reads_every_match_of_a_dense_word(
    big: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the thresholds of a large database relative to this one: the dense word is recognised
    # from the newest rowids, and no statement returns (or counts past) more than a sample.
    monkeypatch.setattr(queries, "SAMPLE", 300)
    monkeypatch.setattr(queries, "MANY_MATCHES", 200)
    seen: list[str] = []
    big.conn.set_trace_callback(seen.append)
    try:
        matches = big.search_matches("geneva")
    finally:
        big.conn.set_trace_callback(None)
    assert matches.plan == SearchMatches.WALK and 0.2 < matches.density < 0.4
    counted = [sql for sql in seen if "items_fts MATCH" in sql]
    assert counted and all("rowid >" in sql for sql in counted)


# ---- the match set shared by the panes of a refresh ------------------------------------------------


def _query(search: str = "", **kwargs: object) -> ViewQuery:
    panes = {t: t for t in TRACKS} | {ALL: ALL}
    return ViewQuery(
        panes=panes,
        limits=dict.fromkeys(panes, 40),
        track_ids=TRACKS,
        now=NOW,
        search=search,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("plan", list(PLANS))
def test_a_refresh_prepares_its_search_once_and_every_pane_gets_the_same_rows(
    big: Store, monkeypatch: pytest.MonkeyPatch, plan: str
) -> None:
    for name, value in PLANS[plan].items():
        monkeypatch.setattr(queries, name, value)
    prepared: list[str] = []
    search_matches = big.search_matches
    monkeypatch.setattr(big, "search_matches", lambda text: prepared.append(text) or search_matches(text))
    data = load_view(big, _query("geneva"))
    assert prepared == ["geneva"]
    for pane, scope in _query().panes.items():
        alone = big.query_items(track=scope, search="geneva", limit=40)
        assert [i.id for i in data.rows[pane]] == [i.id for i in alone] == oracle(big, scope, "geneva", 40)


def test_a_refresh_in_two_parts_gives_the_rows_of_one(big: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PLANS[SearchMatches.WALK].items():
        monkeypatch.setattr(queries, name, value)
    prepared: list[str] = []
    search_matches = big.search_matches
    monkeypatch.setattr(big, "search_matches", lambda text: prepared.append(text) or search_matches(text))
    query = _query("geneva", first=("ukraine",), first_limits={"ukraine": 15})
    parts = view_parts(big, query)
    assert len(parts) == 2
    first = parts[0]()
    assert list(first.rows) == ["ukraine"] and len(first.rows["ukraine"]) == 15
    assert first.feeds is not None and set(first.unread) == {*TRACKS, ALL}
    second = parts[1]()
    assert set(second.rows) == {"gaza", "venezuela", ALL} and second.feeds is None
    assert prepared == ["geneva"]
    whole = load_view(big, _query("geneva"))
    assert [i.id for i in first.rows["ukraine"] + second.more["ukraine"]] == [
        i.id for i in whole.rows["ukraine"]
    ]
    for pane in second.rows:
        assert [i.id for i in second.rows[pane]] == [i.id for i in whole.rows[pane]]


def test_a_cancelled_refresh_stops_its_statement(big: Store) -> None:
    cancelled = [False]
    with pytest.raises(Cancelled), cancellable(big, lambda: cancelled[0]):
        cancelled[0] = True
        big.conn.execute(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
        )
    # The connection is usable again, without the handler.
    assert big.conn.execute("SELECT 1").fetchone() == (1,)
    with cancellable(big, lambda: False):
        assert big.query_items(track=ALL, limit=1)


# ---- feed states ---------------------------------------------------------------------------------


def test_feed_states_without_counts_are_the_same_states_with_items_zero(big: Store) -> None:
    full = big.feed_states()
    bare = big.feed_states(counts=False)
    assert [replace(s, items=0) for s in full] == bare
    assert {s.url: s.items for s in full} == {**big.feed_item_counts()} == {s.url: PER_FEED for s in full}


def test_due_feeds_never_counts_items(big: Store) -> None:
    seen: list[str] = []
    big.conn.set_trace_callback(seen.append)
    try:
        due = big.due_feeds(NOW + timedelta(days=1))
    finally:
        big.conn.set_trace_callback(None)
    assert len(due) == FEEDS and all(s.status is FeedStatus.OK for s in due)
    assert not any("count(" in sql.lower() for sql in seen)
    assert all(isinstance(s.items, int) for s in due)


def test_status_line_reads_need_no_item_count(big: Store) -> None:
    seen: list[str] = []
    big.conn.set_trace_callback(seen.append)
    try:
        load_view(big, _query())
    finally:
        big.conn.set_trace_callback(None)
    assert not any("GROUP BY feed_url" in sql for sql in seen)


def test_the_word_list_is_a_temp_view_never_written_to_the_file(big: Store, tmp_path: Path) -> None:
    big.search_matches("gen")
    names = {r[0] for r in big.conn.execute("SELECT name FROM sqlite_master")}
    assert "items_fts_words" not in names
    other = sqlite3.connect(big.path)
    try:
        assert other.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'items_fts_words'"
        ).fetchone() == (0,)
    finally:
        other.close()
