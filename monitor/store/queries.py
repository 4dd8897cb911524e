"""The query layer every front end reads: item lists, counts, search, read state."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.models import Item
from monitor.store.base import StoreBase, from_ts, to_ts

ALL = "all"
"""Pseudo-track id for the view of every item."""
UNTRACKED = "untracked"
"""Pseudo-track id for items that matched no track."""

_ITEM_COLUMNS = (
    "i.rowid, i.id, i.feed_url, i.guid, i.link, i.title, i.summary, i.source, i.published, i.fetched_at, "
    "i.read, i.starred, i.date_estimated, i.cluster_id, coalesce(c.outlets, 1)"
)
_FROM_ITEMS = "items i LEFT JOIN clusters c ON c.id = i.cluster_id"
FEW_MATCHES = 2000
"""Up to this many full-text matches a search looks each one up and sorts them."""
MANY_MATCHES = 100_000
"""Up to about this many, SQLite collects the matches (about 0.15 us each) and walks the pane's date
index keeping the rows among them. Past it, collecting them all costs more than testing the pane's
newest rows against the index by rowid range (`SearchMatches.test`)."""
PREFIX_TERMS = 8
"""A last word that begins at most this many indexed words is searched as those words (cheap to test
row by row); a shorter, commoner beginning stays a prefix query (one full pass over the index)."""
SAMPLE = 20_000
"""The newest rowids in which a search counts its matches first, to tell a dense word from a rare one
without counting every match."""
WALK_MIN_RATE = 0.05
"""A date walk whose first step found matches in fewer of a pane's rows than this finishes by
collecting the matches instead (more steps would each cost a pass over the runs of rowids)."""
WALK_MAX = 40
"""Candidates (in pane windows) a date walk tests at most."""
RANGE_GAP = 256
"""Candidate rowids closer than this are tested together, as one rowid range of the full-text index."""

_FTS_TOKEN = re.compile(r"\w+", re.UNICODE)
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
_PROBE_RANGES = (
    # The ranges are materialized first (read from JSON at every row, they cost more than the index),
    # and only the candidates' rowids come back (a run of a sparse pane's rows holds many other rows).
    # The unary + keeps the candidate list from being handed to FTS5 as rowids to look up one by one.
    "WITH r(lo, hi) AS MATERIALIZED (SELECT value ->> 0, value ->> 1 FROM json_each(?)), "
    "c(id) AS MATERIALIZED (SELECT value FROM json_each(?)) "
    "SELECT f.rowid FROM r CROSS JOIN items_fts f "
    "WHERE f.items_fts MATCH ? AND f.rowid BETWEEN r.lo AND r.hi AND +f.rowid IN c"
)
_MATCHES = "SELECT rowid FROM items_fts WHERE items_fts MATCH ?"


def fts_query(text: str) -> str | None:
    """Turn what a person typed into a safe FTS5 query: every word must match, the last as a prefix."""
    words = _FTS_TOKEN.findall(text)
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class SearchMatches:
    """What one search matches and how to find a pane's newest matches, worked out once and shared by
    every pane of a refresh.

    Made by `QueriesMixin.search_matches`; hand it to `query_items(matches=...)`. It remembers which
    rows it has tested, so panes whose windows overlap test each row once. Not for two threads at once
    (each refresh and each page of older rows makes its own).
    """

    NONE = "none"
    """Nothing can match."""
    FEW = "few"
    """At most FEW_MATCHES: the matches drive the lookup."""
    COLLECT = "collect"
    """SQLite collects every match, then walks the pane's date index keeping the rows among them."""
    WALK = "walk"
    """Many matches: the pane's newest rows are tested against the index by rowid range."""

    __slots__ = ("density", "expression", "hits", "plan", "tested", "text")

    def __init__(self, text: str, expression: str | None, plan: str, density: float = 0.0) -> None:
        self.text = text
        self.expression = expression
        """The FTS5 query: `fts_query(text)`, with a last word that begins few indexed words written as
        those words. None when nothing can match."""
        self.plan = plan
        self.density = density
        """Share of the newest SAMPLE items that match (for WALK: sizes the first step)."""
        self.tested: set[int] = set()
        self.hits: set[int] = set()

    def test(self, conn: sqlite3.Connection, rowids: Iterable[int]) -> set[int]:
        """Which of these rowids match. The index is asked once, for runs of nearby untested rowids:
        a pane's newest rows lie in a few runs (one per feed at most), whatever the number of matches."""
        assert self.expression is not None
        rowids = list(rowids)
        untested = sorted({r for r in rowids if r not in self.tested})
        if untested:
            ranges: list[list[int]] = []
            for rowid in untested:
                if ranges and rowid - ranges[-1][1] <= RANGE_GAP:
                    ranges[-1][1] = rowid
                else:
                    ranges.append([rowid, rowid])
            found = conn.execute(
                _PROBE_RANGES, (json.dumps(ranges), json.dumps(untested), self.expression)
            ).fetchall()
            self.hits.update(r for (r,) in found)
            self.tested.update(untested)
        return {r for r in rowids if r in self.hits}


@dataclass(frozen=True, slots=True)
class _Pane:
    """The rows of one pane (a track, ALL or UNTRACKED, with filters) as SQL pieces over its date index."""

    sql_from: str
    where: tuple[str, ...]
    args: tuple[object, ...]
    pub: str
    rowid: str

    @classmethod
    def build(
        cls,
        track: str | None,
        since: datetime | None,
        until: datetime | None,
        unread_only: bool,
        starred_only: bool,
        feed_url: str | None,
    ) -> _Pane:
        where: list[str] = []
        args: list[object] = []
        use_tracks = track not in (None, ALL, UNTRACKED)
        pub = "it.published" if use_tracks else "i.published"
        rowid = "it.item_rowid" if use_tracks else "i.rowid"
        if use_tracks:
            # A track pane reads its own index (track, published, rowid); items only when a filter needs it.
            needs_items = starred_only or bool(feed_url)
            sql_from = (
                "item_tracks it JOIN items i ON i.rowid = it.item_rowid" if needs_items else "item_tracks it"
            )
            where.append("it.track = ?")
            args.append(track)
            if unread_only:
                where.append("it.read = 0")
        else:
            sql_from = "items i"
            if unread_only:
                where.append("i.read = 0")
        if track == UNTRACKED:
            where.append("NOT EXISTS (SELECT 1 FROM item_tracks x WHERE x.item_rowid = i.rowid)")
        if starred_only:
            where.append("i.starred = 1")
        if feed_url:
            where.append("i.feed_url = ?")
            args.append(feed_url)
        if since is not None:
            where.append(f"{pub} >= ?")
            args.append(to_ts(since))
        if until is not None:
            where.append(f"{pub} < ?")
            args.append(to_ts(until))
        return cls(sql_from, tuple(where), tuple(args), pub, rowid)


class QueriesMixin(StoreBase):
    def search_matches(self, search: str) -> SearchMatches:
        """Prepare a search for `query_items(matches=...)`: a few ms, however many items match
        (unless its last word is a prefix of many words: see PREFIX_TERMS)."""
        words = _FTS_TOKEN.findall(search)
        if not words:
            return SearchMatches(search, None, SearchMatches.NONE)
        parts = [_quote(w) for w in words[:-1]]
        last = words[-1]
        terms = self._prefix_terms(last.lower()) if _ASCII_WORD.fullmatch(last) else None
        if terms == []:
            return SearchMatches(search, None, SearchMatches.NONE)
        if terms is None:
            # Left as a prefix (non-ASCII, joined by an underscore, or too common a beginning): FTS5
            # then merges every matching word's list into one, once per statement.
            parts.append(f"{_quote(last)}*")
        elif len(terms) == 1:
            parts.append(_quote(terms[0]))
        else:
            parts.append("(" + " OR ".join(_quote(t) for t in terms) + ")")
        expression = " AND ".join(parts)
        conn = self.conn
        # Counted inside SQLite, and never past what the choice of plan needs: a dense word is known as
        # such from the newest rowids, and its matches are never all read.
        if terms is not None:
            top = int(conn.execute("SELECT coalesce(max(rowid), 0) FROM items").fetchone()[0])
            sample = int(
                conn.execute(
                    f"SELECT count(*) FROM ({_MATCHES} AND rowid > ?)", (expression, top - SAMPLE)
                ).fetchone()[0]
            )
            if sample == 0 and top <= SAMPLE:
                return SearchMatches(search, None, SearchMatches.NONE)
            if top > SAMPLE and sample * top / SAMPLE > MANY_MATCHES:
                return SearchMatches(search, expression, SearchMatches.WALK, sample / SAMPLE)
        row = conn.execute(
            f"SELECT count(*) FROM ({_MATCHES} LIMIT ?)", (expression, FEW_MATCHES + 1)
        ).fetchone()
        count = int(row[0])
        if count == 0:
            return SearchMatches(search, None, SearchMatches.NONE)
        return SearchMatches(
            search, expression, SearchMatches.FEW if count <= FEW_MATCHES else SearchMatches.COLLECT
        )

    def _prefix_terms(self, prefix: str) -> list[str] | None:
        """The indexed words that begin with `prefix` (lower-case ASCII letters and digits, which the
        tokenizer keeps as they are), or None when there are more than PREFIX_TERMS."""
        conn = self.conn
        if not getattr(self._local, "fts_words", False):
            # A per-connection view of the full-text index's words, in the temp schema (nothing is
            # written to the database). `instance` rows come one per occurrence, in word order, so
            # `LIMIT 1` after a seek costs a lookup, not a count.
            conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.items_fts_words USING fts5vocab(main, items_fts, instance)"
            )
            self._local.fts_words = True
        terms: list[str] = []
        start = prefix
        while True:
            row = conn.execute(
                "SELECT term FROM temp.items_fts_words WHERE term >= ? LIMIT 1", (start,)
            ).fetchone()
            if row is None or not str(row[0]).startswith(prefix):
                return terms
            if len(terms) == PREFIX_TERMS:
                return None
            terms.append(str(row[0]))
            # The next word after this one: words never hold control characters (the tokenizer
            # splits on them), so nothing sorts between `term` and `term + "\x01"`.
            start = terms[-1] + "\x01"

    def query_items(
        self,
        *,
        track: str | None = None,
        search: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        before: tuple[datetime, int] | None = None,
        unread_only: bool = False,
        starred_only: bool = False,
        feed_url: str | None = None,
        matches: SearchMatches | None = None,
    ) -> list[Item]:
        """Newest first. `track` is a track id, ALL/None for everything, UNTRACKED for items with no track.

        `before` is a (published, rowid) keyset cursor from `Item`-paging, so deep pages cost the same
        as the first one. `matches` (from `search_matches`) stands for `search`; the panes of one
        refresh share it, so the search is prepared once and rows are tested once.
        """
        if matches is None and search:
            matches = self.search_matches(search)
        pane = _Pane.build(track, since, until, unread_only, starred_only, feed_url)
        cursor = (to_ts(before[0]), before[1]) if before is not None else None
        if matches is None:
            keys = self._pane_keys(pane, [], [], cursor, limit)
        elif matches.expression is None:
            return []
        elif matches.plan == SearchMatches.FEW:
            # Few matches: look each one up and sort them. The matches drive the join, so a pane
            # holding none of them costs nothing however many rows it has.
            keys = self._pane_keys(
                pane, [f"{pane.rowid} = m.id"], [], cursor, limit, driver=matches.expression
            )
        elif matches.plan == SearchMatches.COLLECT:
            # SQLite collects the matches and walks the pane's date index newest first keeping the rows
            # among them (the unary + stops it from driving the lookup with the match list instead).
            keys = self._pane_keys(
                pane, [f"+{pane.rowid} IN ({_MATCHES})"], [matches.expression], cursor, limit
            )
        else:
            keys = self._walk(matches, pane, cursor, limit)
        return self._items_by_rowid([r for _, r in keys])

    def _pane_keys(
        self,
        pane: _Pane,
        where: list[str],
        args: list[object],
        cursor: tuple[int, int] | None,
        limit: int,
        *,
        driver: str | None = None,
    ) -> list[tuple[int, int]]:
        """(published, rowid) of the pane's rows after `cursor`, newest first, read from an index.
        `driver` is a full-text query whose matches lead the join (its parameter goes first)."""
        clauses = [*pane.where, *where]
        params: list[object] = [*pane.args, *args]
        if cursor is not None:
            clauses.append(f"({pane.pub}, {pane.rowid}) < (?, ?)")
            params.extend(cursor)
        sql_from = pane.sql_from
        if driver is not None:
            sql_from = f"(SELECT rowid AS id FROM items_fts WHERE items_fts MATCH ?) m CROSS JOIN {sql_from}"
            params.insert(0, driver)
        sql = f"SELECT {pane.pub}, {pane.rowid} FROM {sql_from}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {pane.pub} DESC, {pane.rowid} DESC LIMIT ?"
        params.append(limit)
        return self.conn.execute(sql, params).fetchall()

    def _walk(
        self, matches: SearchMatches, pane: _Pane, cursor: tuple[int, int] | None, limit: int
    ) -> list[tuple[int, int]]:
        """Many matches: walk the pane newest first and keep the rows that match.

        A word in one item in five needs a few hundred candidates per window, tested by rowid range
        without reading the other matches. The first step is sized from the matches' share of the
        newest items; a pane where the word turns out rare (under WALK_MIN_RATE of its rows) finishes
        by collecting the matches, as for fewer matches.
        """
        assert matches.expression is not None
        conn = self.conn
        found: list[tuple[int, int]] = []
        seen = 0
        most = limit * WALK_MAX
        step = min(max(int(limit / max(matches.density, 0.01) * 1.3), limit * 2, 200), most)
        while len(found) < limit:
            keys = self._pane_keys(pane, [], [], cursor, step)
            if not keys:
                break
            hits = matches.test(conn, (r for _, r in keys))
            found += [key for key in keys if key[1] in hits]
            seen += len(keys)
            if len(keys) < step or len(found) >= limit:
                break
            cursor = keys[-1]
            rate = len(found) / seen
            if rate < WALK_MIN_RATE or seen >= most:
                clause = f"+{pane.rowid} IN ({_MATCHES})"
                found += self._pane_keys(pane, [clause], [matches.expression], cursor, limit - len(found))
                break
            step = min(max(limit, int((limit - len(found)) / rate * 1.5)), most - seen)
        return found[:limit]

    def _items_by_rowid(self, rowids: list[int]) -> list[Item]:
        """The items with these rowids, in this order."""
        if not rowids:
            return []
        rows = self.conn.execute(
            f"SELECT {_ITEM_COLUMNS} FROM json_each(?) m CROSS JOIN items i ON i.rowid = m.value "
            "LEFT JOIN clusters c ON c.id = i.cluster_id",
            (json.dumps(rowids),),
        ).fetchall()
        order = {r: n for n, r in enumerate(rowids)}
        rows.sort(key=lambda row: order[row[0]])
        return self._items_from_rows(rows)

    def _items_from_rows(self, rows: list[tuple]) -> list[Item]:
        if not rows:
            return []
        matched: dict[int, dict[str, list[str]]] = {}
        rowids = [r[0] for r in rows]
        for start in range(0, len(rowids), 500):
            chunk = rowids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for rowid, track, terms in self.conn.execute(
                f"SELECT item_rowid, track, terms FROM item_tracks WHERE item_rowid IN ({marks})", chunk
            ):
                matched.setdefault(rowid, {})[track] = json.loads(terms)
        items = []
        for (
            rowid,
            item_id,
            feed_url,
            guid,
            link,
            title,
            summary,
            source,
            published,
            fetched_at,
            read,
            starred,
            date_estimated,
            cluster_id,
            outlets,
        ) in rows:
            tracks = matched.get(rowid, {})
            items.append(
                Item(
                    id=item_id,
                    feed_url=feed_url,
                    guid=guid,
                    link=link,
                    title=title,
                    summary=summary,
                    source=source,
                    published=from_ts(published),  # type: ignore[arg-type]
                    fetched_at=from_ts(fetched_at),  # type: ignore[arg-type]
                    tracks=tuple(sorted(tracks)),
                    matched=tracks,
                    read=bool(read),
                    starred=bool(starred),
                    date_estimated=bool(date_estimated),
                    cluster_id=cluster_id,
                    cluster_size=int(outlets),
                    rowid=rowid,
                )
            )
        return items

    def get_item(self, item_id: str) -> Item | None:
        rows = self.conn.execute(
            f"SELECT {_ITEM_COLUMNS} FROM {_FROM_ITEMS} WHERE i.id = ?", (item_id,)
        ).fetchall()
        items = self._items_from_rows(rows)
        return items[0] if items else None

    def _items_where_in(self, column: str, values: Sequence[object]) -> list[Item]:
        """Items whose `column` ("id" or "rowid") is one of `values`, in chunks SQLite accepts."""
        items: list[Item] = []
        for start in range(0, len(values), 500):
            chunk = list(values[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT {_ITEM_COLUMNS} FROM {_FROM_ITEMS} WHERE i.{column} IN ({marks})", chunk
            ).fetchall()
            items += self._items_from_rows(rows)
        return items

    def get_items(self, item_ids: Iterable[str]) -> list[Item]:
        """Items by id, in the order asked (missing ids are skipped)."""
        ids = list(item_ids)
        found = {item.id: item for item in self._items_where_in("id", ids)}
        return [found[i] for i in ids if i in found]

    def items_by_rowid(self, rowids: Iterable[int]) -> dict[int, Item]:
        """Items by row id (missing rows are skipped)."""
        return {item.rowid: item for item in self._items_where_in("rowid", list(rowids))}  # type: ignore[misc]

    def count_items(self, track: str | None = None) -> int:
        if track in (None, ALL):
            return int(self.conn.execute("SELECT count(*) FROM items").fetchone()[0])
        return int(
            self.conn.execute("SELECT count(*) FROM item_tracks WHERE track = ?", (track,)).fetchone()[0]
        )

    def unread_counts(self, tracks: Sequence[str]) -> dict[str, int]:
        """Unread items per track, plus ALL."""
        out = {
            track: int(
                self.conn.execute(
                    "SELECT count(*) FROM item_tracks WHERE track = ? AND read = 0", (track,)
                ).fetchone()[0]
            )
            for track in tracks
        }
        out[ALL] = int(self.conn.execute("SELECT count(*) FROM items WHERE read = 0").fetchone()[0])
        return out

    def hourly_counts(self, track: str | None, now: datetime, hours: int = 24) -> list[int]:
        """Items per hour over the last `hours` hours, oldest first (for the pane sparkline)."""
        end = to_ts(now)
        start = end - hours * 3600
        if track in (None, ALL):
            rows = self.conn.execute(
                "SELECT (published - ?) / 3600, count(*) FROM items WHERE published >= ? AND published < ? GROUP BY 1",
                (start, start, end),
            )
        else:
            rows = self.conn.execute(
                "SELECT (published - ?) / 3600, count(*) FROM item_tracks WHERE track = ? AND published >= ? "
                "AND published < ? GROUP BY 1",
                (start, track, start, end),
            )
        buckets = [0] * hours
        for bucket, count in rows:
            if 0 <= bucket < hours:
                buckets[int(bucket)] = int(count)
        return buckets

    def source_counts(self, since: datetime, until: datetime, track: str | None = None) -> tuple[int, int]:
        """(items, distinct sources) published in [since, until), for one track or all."""
        if track in (None, ALL):
            row = self.conn.execute(
                "SELECT count(*), count(DISTINCT source) FROM items WHERE published >= ? AND published < ?",
                (to_ts(since), to_ts(until)),
            ).fetchone()
        else:
            row = self.conn.execute(
                "SELECT count(*), count(DISTINCT i.source) FROM item_tracks it JOIN items i ON i.rowid = it.item_rowid "
                "WHERE it.track = ? AND it.published >= ? AND it.published < ?",
                (track, to_ts(since), to_ts(until)),
            ).fetchone()
        return int(row[0]), int(row[1])

    # ---- reader state -------------------------------------------------------------------------

    def set_read(self, item_ids: Iterable[str], read: bool = True) -> int:
        ids = list(item_ids)
        changed = 0
        with self.write() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                cur = conn.execute(
                    f"UPDATE items SET read = ? WHERE id IN ({marks}) AND read != ?",
                    [int(read), *chunk, int(read)],
                )
                changed += cur.rowcount
                conn.execute(
                    f"UPDATE item_tracks SET read = ? WHERE item_rowid IN (SELECT rowid FROM items WHERE id IN ({marks}))",
                    [int(read), *chunk],
                )
        return changed

    def mark_track_read(self, track: str | None, *, upto: datetime | None = None) -> int:
        """Mark every item of a track (or ALL, or UNTRACKED) read, optionally only those published up to `upto`."""
        limit = to_ts(upto) if upto else 2**62
        with self.write() as conn:
            if track in (None, ALL):
                cur = conn.execute("UPDATE items SET read = 1 WHERE read = 0 AND published <= ?", (limit,))
                conn.execute("UPDATE item_tracks SET read = 1 WHERE read = 0 AND published <= ?", (limit,))
            elif track == UNTRACKED:
                cur = conn.execute(
                    "UPDATE items SET read = 1 WHERE read = 0 AND published <= ? AND NOT EXISTS "
                    "(SELECT 1 FROM item_tracks x WHERE x.item_rowid = items.rowid)",
                    (limit,),
                )
            else:
                cur = conn.execute(
                    "UPDATE items SET read = 1 WHERE read = 0 AND rowid IN "
                    "(SELECT item_rowid FROM item_tracks WHERE track = ? AND read = 0 AND published <= ?)",
                    (track, limit),
                )
                conn.execute(
                    "UPDATE item_tracks SET read = 1 WHERE item_rowid IN (SELECT item_rowid FROM item_tracks "
                    "WHERE track = ? AND published <= ?) AND read = 0",
                    (track, limit),
                )
            return cur.rowcount

    def set_starred(self, item_id: str, starred: bool) -> None:
        with self.write() as conn:
            conn.execute("UPDATE items SET starred = ? WHERE id = ?", (int(starred), item_id))

    def pane_seen(self, track: str) -> datetime | None:
        row = self.conn.execute("SELECT seen_at FROM pane_seen WHERE track = ?", (track,)).fetchone()
        return from_ts(row[0]) if row else None

    def set_pane_seen(self, track: str, moment: datetime) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO pane_seen (track, seen_at) VALUES (?, ?)", (track, to_ts(moment))
            )

    def claim_alert(self, item_id: str, track: str, now: datetime) -> bool:
        """True the first time an alert is raised for this item and track, False ever after."""
        with self.write() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO alerts_raised (item_id, track, raised_at) VALUES (?, ?, ?)",
                (item_id, track, to_ts(now)),
            )
            return cur.rowcount > 0

    def fetched_since(self, moment: datetime, limit: int = 1000) -> list[Item]:
        """Items first stored at or after `moment` (what a poll just added), newest first."""
        rows = self.conn.execute(
            f"SELECT {_ITEM_COLUMNS} FROM {_FROM_ITEMS} WHERE i.fetched_at >= ? ORDER BY i.rowid DESC LIMIT ?",
            (to_ts(moment), limit),
        ).fetchall()
        return self._items_from_rows(rows)
