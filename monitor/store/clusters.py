"""Story cluster storage: which items report the same event, and the queries the digest reads."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from monitor.models import Item
from monitor.store.base import StoreBase, from_ts, to_ts

_CHUNK = 500
INDEX_KEEP_SECONDS = 7 * 86400
"""Token index kept for items this recent (at least four clustering windows)."""
NEIGHBOUR_ITEMS = 30
"""Items sharing the most tokens with a newcomer that it is compared with (and their stories)."""
STORY_SAMPLE = 8
"""Newest items of each candidate story compared besides those: enough to judge the story's cast."""
POSTINGS = 250
"""Items a candidate-finding token contributes on each side of a newcomer's date, nearest first."""
_MEMBERS = (
    "SELECT m.item_rowid, i.cluster_id, m.published, m.vector, c.first_published, c.last_published "
    "FROM items i JOIN cluster_members m ON m.item_rowid = i.rowid JOIN clusters c ON c.id = i.cluster_id "
)
_NEWER = (
    "SELECT item_rowid FROM cluster_terms WHERE token = ? AND published >= ? AND published <= ? "
    "ORDER BY published LIMIT ?"
)
_OLDER = (
    "SELECT item_rowid FROM cluster_terms WHERE token = ? AND published >= ? AND published < ? "
    "ORDER BY published DESC LIMIT ?"
)


def _ts(value: int) -> datetime:
    moment = from_ts(value)
    assert moment is not None
    return moment


@dataclass(frozen=True, slots=True)
class ClusterSubject:
    """A new item as the clusterer sees it."""

    rowid: int
    id: str
    title: str
    summary: str
    link: str | None
    guid: str
    source: str
    feed_url: str
    published: datetime
    terms: tuple[str, ...]
    """Track-lexicon terms the tagger matched, over every track."""


@dataclass(frozen=True, slots=True)
class ClusterNeighbour:
    """An already clustered item published near the subject, sharing some of its tokens."""

    rowid: int
    cluster_id: str
    published: datetime
    vector: dict[str, float]
    entities: frozenset[str]
    cluster_first: datetime
    cluster_last: datetime


class ClusterKeys(Protocol):
    """What the store keeps per clustered item (monitor.clustering.ItemKeys)."""

    @property
    def vector(self) -> dict[str, float]: ...
    @property
    def entities(self) -> frozenset[str]: ...
    @property
    def link_key(self) -> str | None: ...
    @property
    def guid_key(self) -> str | None: ...
    @property
    def title_key(self) -> str | None: ...


class ClusterChoice(Protocol):
    @property
    def cluster_id(self) -> str | None: ...
    @property
    def merge(self) -> tuple[str, ...]: ...


K = TypeVar("K", bound=ClusterKeys)


class ClusterPlanner(Protocol[K]):
    """The clustering logic (monitor.clustering.Clusterer); the store only runs its queries."""

    window: timedelta

    def keys(self, subject: ClusterSubject) -> K: ...

    def search_tokens(self, keys: K) -> list[str]:
        """The tokens that find an item's candidate neighbours."""
        ...

    def choose(self, subject: ClusterSubject, keys: K, neighbours: Sequence[ClusterNeighbour],
               df: Mapping[str, int], n: int) -> ClusterChoice: ...  # fmt: skip


@dataclass(frozen=True, slots=True)
class ClusterRow:
    """One story: its span and how many outlets and items carry it."""

    id: str
    first_published: datetime
    last_published: datetime
    outlets: int
    items: int


class ClustersMixin(StoreBase):
    """Queries over the clusters table, items.cluster_id and the cluster match index."""

    # ---- reading ------------------------------------------------------------------------------

    def cluster_items(self, cluster_id: str | None) -> list[Item]:
        """Every item of a story, first report first (empty for None or an unknown id)."""
        if not cluster_id:
            return []
        ids = [
            row[0]
            for row in self.conn.execute(
                "SELECT id FROM items WHERE cluster_id = ? ORDER BY published, rowid", (cluster_id,)
            )
        ]
        return self.get_items(ids)  # type: ignore[attr-defined, no-any-return]

    def cluster(self, cluster_id: str) -> ClusterRow | None:
        row = self.conn.execute(
            "SELECT id, first_published, last_published, outlets, items FROM clusters WHERE id = ?",
            (cluster_id,),
        ).fetchone()
        if row is None:
            return None
        return ClusterRow(row[0], from_ts(row[1]), from_ts(row[2]), row[3], row[4])  # type: ignore[arg-type]

    def unclustered_ids(self, limit: int = 500) -> list[str]:
        """Items no clustering has seen yet, oldest first."""
        rows = self.conn.execute(
            "SELECT id FROM items WHERE cluster_id IS NULL ORDER BY published, rowid LIMIT ?", (limit,)
        )
        return [row[0] for row in rows]

    def items_between(self, since: datetime, until: datetime) -> list[Item]:
        """Every item published in [since, until), oldest first, with its tracks and story size."""
        ids = [
            row[0]
            for row in self.conn.execute(
                "SELECT id FROM items WHERE published >= ? AND published < ? ORDER BY published, rowid",
                (to_ts(since), to_ts(until)),
            )
        ]
        return self.get_items(ids)  # type: ignore[attr-defined, no-any-return]

    def items_in_clusters(self, cluster_ids: Iterable[str], until: datetime) -> list[Item]:
        """Every item of these stories published before `until`, oldest first."""
        wanted = list(dict.fromkeys(cluster_ids))
        ids: list[tuple[int, int, str]] = []
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            ids.extend(
                self.conn.execute(
                    f"SELECT published, rowid, id FROM items WHERE cluster_id IN ({marks}) AND published < ?",
                    [*chunk, to_ts(until)],
                )
            )
        ids.sort()
        return self.get_items(i for _, _, i in ids)  # type: ignore[attr-defined, no-any-return]

    def day_counts(self, since: datetime, until: datetime) -> dict[str, tuple[int, int]]:
        """(items, distinct sources) published in [since, until) per track, plus UNTRACKED and ALL."""
        from monitor.store.queries import ALL, UNTRACKED

        lo, hi = to_ts(since), to_ts(until)
        out = {
            track: (int(n), int(sources))
            for track, n, sources in self.conn.execute(
                "SELECT it.track, count(*), count(DISTINCT i.source) FROM item_tracks it "
                "JOIN items i ON i.rowid = it.item_rowid WHERE it.published >= ? AND it.published < ? "
                "GROUP BY it.track",
                (lo, hi),
            )
        }
        n, sources = self.conn.execute(
            "SELECT count(*), count(DISTINCT source) FROM items i WHERE published >= ? AND published < ? "
            "AND NOT EXISTS (SELECT 1 FROM item_tracks x WHERE x.item_rowid = i.rowid)",
            (lo, hi),
        ).fetchone()
        out[UNTRACKED] = (int(n), int(sources))
        n, sources = self.conn.execute(
            "SELECT count(*), count(DISTINCT source) FROM items WHERE published >= ? AND published < ?",
            (lo, hi),
        ).fetchone()
        out[ALL] = (int(n), int(sources))
        return out

    # ---- reader state -------------------------------------------------------------------------

    def mark_cluster_read(self, item_id: str, read: bool = True) -> int:
        """Mark an item and every other item of its story read (or unread); returns items changed."""
        row = self.conn.execute("SELECT cluster_id FROM items WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            return 0
        if row[0] is None:
            return self.set_read([item_id], read)  # type: ignore[attr-defined, no-any-return]
        ids = [r[0] for r in self.conn.execute("SELECT id FROM items WHERE cluster_id = ?", (row[0],))]
        return self.set_read(ids, read)  # type: ignore[attr-defined, no-any-return]

    # ---- clustering -----------------------------------------------------------------------------

    def assign_clusters(self, item_ids: Iterable[str], planner: ClusterPlanner[Any], *,
                        now: datetime | None = None) -> dict[str, str]:  # fmt: skip
        """Give each not-yet-clustered item a story, oldest first, in one write transaction.

        An exact duplicate (same link or guid, or the same headline within the window) joins the
        original's story; otherwise `planner.choose` picks among nearby items sharing tokens, and an
        item nobody matches starts a story whose id is its own id. When the planner finds that the
        newcomer bridges two stories of one event, they merge under the older story's id. `now`
        lets the token index of items too old to match anything be pruned.
        """
        from monitor.clustering import outlet_key

        ids = list(dict.fromkeys(item_ids))
        assigned: dict[str, str] = {}
        if not ids:
            return assigned
        window = int(planner.window.total_seconds())
        merged: set[str] = set()
        with self.write() as conn:
            counts = _WindowCounts(conn, window)
            outlets: dict[str, set[str]] = {}
            """Outlets of the stories this batch touched, kept up to date as it adds items."""
            subjects = self._cluster_subjects(conn, ids)
            for subject in subjects:
                keys = planner.keys(subject)
                published = to_ts(subject.published)
                cluster_id = self._duplicate_cluster(conn, keys, published, window)
                merge: tuple[str, ...] = ()
                if cluster_id is None:
                    tokens = planner.search_tokens(keys)
                    neighbours = self._neighbours(conn, tokens, published, window)
                    wanted = set(keys.vector)
                    for other in neighbours:
                        wanted.update(other.vector)
                    df, n = counts.frequencies(wanted, published)
                    choice = planner.choose(subject, keys, neighbours, df, n)
                    cluster_id, merge = choice.cluster_id, choice.merge
                cluster_id = cluster_id or subject.id
                if merge:
                    cluster_id = self._merge_clusters(conn, [cluster_id, *merge])
                    merged.update(merge)
                self._add_member(conn, subject, keys, cluster_id)
                counts.added(keys.vector, published)
                outlet = outlet_key(subject.source, subject.feed_url)
                known = outlets.get(cluster_id)
                if merge or known is None:
                    outlets[cluster_id] = self._refresh_cluster(conn, cluster_id, outlet_key)
                else:
                    # A story of hundreds of reports was re-read on every arrival: grow it instead.
                    known.add(outlet)
                    conn.execute(
                        "UPDATE clusters SET first_published = min(first_published, ?), "
                        "last_published = max(last_published, ?), items = items + 1, outlets = ? WHERE id = ?",
                        (published, published, len(known), cluster_id),
                    )
                assigned[subject.id] = cluster_id
            if merged:
                # Items of this batch that were in a merged story now belong to the survivor.
                for item_id in [i for i, c in assigned.items() if c in merged]:
                    row = conn.execute("SELECT cluster_id FROM items WHERE id = ?", (item_id,)).fetchone()
                    assigned[item_id] = str(row[0])
            if now is not None:
                self._prune_index(conn, to_ts(now) - max(4 * window, INDEX_KEEP_SECONDS))
        return assigned

    @staticmethod
    def _prune_index(conn: sqlite3.Connection, cutoff: int) -> None:
        """Forget the tokens of items too old to match anything new (their link and guid keys stay,
        so a repost still collapses). Runs at most once a day, over the day that fell out."""
        row = conn.execute("SELECT value FROM meta WHERE key = 'cluster_index_pruned_before'").fetchone()
        done = int(row[0]) if row else None
        if done is None:
            oldest = conn.execute("SELECT min(published) FROM cluster_members").fetchone()[0]
            done = int(oldest) if oldest is not None else cutoff
        if cutoff - done < 86400:
            return
        conn.execute(
            "DELETE FROM cluster_terms WHERE item_rowid IN "
            "(SELECT item_rowid FROM cluster_members WHERE published >= ? AND published < ?)",
            (done, cutoff),
        )
        conn.execute(
            "UPDATE cluster_members SET vector = '{}' WHERE published >= ? AND published < ?", (done, cutoff)
        )
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('cluster_index_pruned_before', ?)",
            (str(cutoff),),
        )

    @staticmethod
    def _cluster_subjects(conn: sqlite3.Connection, ids: list[str]) -> list[ClusterSubject]:
        rows: list[tuple] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows.extend(
                conn.execute(
                    "SELECT rowid, id, title, summary, link, guid, source, feed_url, published FROM items "
                    f"WHERE id IN ({marks}) AND cluster_id IS NULL",
                    chunk,
                )
            )
        rows.sort(key=lambda r: (r[8], r[0]))
        terms: dict[int, set[str]] = {}
        rowids = [r[0] for r in rows]
        for start in range(0, len(rowids), _CHUNK):
            chunk = rowids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for rowid, matched in conn.execute(
                f"SELECT item_rowid, terms FROM item_tracks WHERE item_rowid IN ({marks})", chunk
            ):
                terms.setdefault(rowid, set()).update(json.loads(matched))
        return [
            ClusterSubject(
                rowid=r[0],
                id=r[1],
                title=r[2],
                summary=r[3],
                link=r[4],
                guid=r[5],
                source=r[6],
                feed_url=r[7],
                published=_ts(r[8]),
                terms=tuple(sorted(terms.get(r[0], ()))),
            )
            for r in rows
        ]

    @staticmethod
    def _duplicate_cluster(conn: sqlite3.Connection, keys: ClusterKeys, published: int,
                           window: int) -> str | None:  # fmt: skip
        # A reposted link or guid is the same article whenever it comes back.
        for column, value in (("link_key", keys.link_key), ("guid_key", keys.guid_key)):
            if value is None:
                continue
            row = conn.execute(
                f"SELECT i.cluster_id FROM cluster_members m JOIN items i ON i.rowid = m.item_rowid "
                f"WHERE m.{column} = ? ORDER BY m.published LIMIT 1",
                (value,),
            ).fetchone()
            if row is not None and row[0] is not None:
                return str(row[0])
        if keys.title_key is not None:
            row = conn.execute(
                "SELECT i.cluster_id FROM cluster_members m JOIN items i ON i.rowid = m.item_rowid "
                "WHERE m.title_key = ? AND m.published BETWEEN ? AND ? ORDER BY m.published LIMIT 1",
                (keys.title_key, published - window, published + window),
            ).fetchone()
            if row is not None and row[0] is not None:
                return str(row[0])
        return None

    @staticmethod
    def _neighbours(conn: sqlite3.Connection, tokens: list[str], published: int, window: int,
                    limit: int = NEIGHBOUR_ITEMS) -> list[ClusterNeighbour]:  # fmt: skip
        """Items in the window sharing at least two tokens, plus up to STORY_SAMPLE other items of each
        of their stories, newest first (a story refuses an item that conflicts with too many of its
        items). Bounded, so a story of hundreds of reports costs no more to join than a small one."""
        if not tokens:
            return []
        shared: dict[int, int] = {}
        for token in tokens:
            # A common word ('talks', 'officials') is in thousands of items of a busy window: only its
            # nearest POSTINGS items on each side count, so one item's lookup stays bounded.
            for sql, bounds in (
                (_NEWER, (token, published, published + window, POSTINGS)),
                (_OLDER, (token, published - window, published, POSTINGS)),
            ):
                for (rowid,) in conn.execute(sql, bounds):
                    shared[rowid] = shared.get(rowid, 0) + 1
        best = sorted((r for r, c in shared.items() if c >= 2), key=lambda r: (-shared[r], r))[:limit]
        clusters: list[str] = []
        for start in range(0, len(best), _CHUNK):
            rowids = best[start : start + _CHUNK]
            marks = ",".join("?" * len(rowids))
            clusters.extend(
                row[0]
                for row in conn.execute(
                    f"SELECT DISTINCT cluster_id FROM items WHERE rowid IN ({marks}) "
                    "AND cluster_id IS NOT NULL",
                    rowids,
                )
            )
        # The closest items themselves, then each story's newest items: SQLite picks them, so a story
        # of hundreds of members costs an index range, not a Python loop over all of them.
        members: dict[int, tuple] = {}
        queries: list[tuple[str, Sequence[object]]] = []
        if best:
            queries.append((_MEMBERS + f"WHERE m.item_rowid IN ({','.join('?' * len(best))})", best))
        queries += [(_MEMBERS + "WHERE i.cluster_id = ? ORDER BY i.published DESC LIMIT ?", (c, STORY_SAMPLE))
                    for c in dict.fromkeys(clusters)]  # fmt: skip
        for sql, params in queries:
            for row in conn.execute(sql, params):
                members.setdefault(row[0], row)
        out: list[ClusterNeighbour] = []
        for rowid, cluster_id, pub, stored, first, last in members.values():
            data = json.loads(stored)
            if not data:
                continue  # pruned: too old to compare with
            out.append(
                ClusterNeighbour(
                    rowid, cluster_id, _ts(pub), data["v"], frozenset(data["e"]), _ts(first), _ts(last)
                )
            )
        out.sort(key=lambda n: (-shared.get(n.rowid, 0), n.rowid))
        return out

    @staticmethod
    def _merge_clusters(conn: sqlite3.Connection, cluster_ids: list[str]) -> str:
        """Fold stories into the one reported first; its id (its first item's id) survives."""
        marks = ",".join("?" * len(cluster_ids))
        survivor = conn.execute(
            f"SELECT id FROM clusters WHERE id IN ({marks}) ORDER BY first_published, id LIMIT 1", cluster_ids
        ).fetchone()[0]
        others = [c for c in cluster_ids if c != survivor]
        marks = ",".join("?" * len(others))
        conn.execute(f"UPDATE items SET cluster_id = ? WHERE cluster_id IN ({marks})", [survivor, *others])
        conn.execute(f"DELETE FROM clusters WHERE id IN ({marks})", others)
        return str(survivor)

    @staticmethod
    def _add_member(conn: sqlite3.Connection, subject: ClusterSubject, keys: ClusterKeys,
                    cluster_id: str) -> None:  # fmt: skip
        published = to_ts(subject.published)
        vector = json.dumps(
            {"v": {k: round(v, 3) for k, v in keys.vector.items()}, "e": sorted(keys.entities)},
            separators=(",", ":"),
        )
        conn.execute("UPDATE items SET cluster_id = ? WHERE rowid = ?", (cluster_id, subject.rowid))
        conn.execute(
            "INSERT OR REPLACE INTO cluster_members (item_rowid, published, link_key, guid_key, title_key, "
            "vector) VALUES (?, ?, ?, ?, ?, ?)",
            (subject.rowid, published, keys.link_key, keys.guid_key, keys.title_key, vector),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO cluster_terms (token, published, item_rowid) VALUES (?, ?, ?)",
            [(token, published, subject.rowid) for token in keys.vector],
        )

    @staticmethod
    def _outlets(
        conn: sqlite3.Connection, cluster_id: str, outlet_key: Callable[[str, str], str]
    ) -> set[str]:
        # Distinct (source, feed) pairs, not every item: a story of hundreds of reports has a few dozen.
        return {
            outlet_key(source, feed_url)
            for source, feed_url in conn.execute(
                "SELECT DISTINCT source, feed_url FROM items WHERE cluster_id = ?", (cluster_id,)
            )
        }

    @staticmethod
    def _refresh_cluster(
        conn: sqlite3.Connection, cluster_id: str, outlet_key: Callable[[str, str], str]
    ) -> set[str]:
        """Recompute a story's span, item count and distinct outlets from its items; returns the outlets."""
        first, last, count = conn.execute(
            "SELECT min(published), max(published), count(*) FROM items WHERE cluster_id = ?", (cluster_id,)
        ).fetchone()
        if not count:
            return set()
        outlets = ClustersMixin._outlets(conn, cluster_id, outlet_key)
        conn.execute(
            "INSERT INTO clusters (id, first_published, last_published, outlets, items) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "first_published = excluded.first_published, last_published = excluded.last_published, "
            "outlets = excluded.outlets, items = excluded.items",
            (cluster_id, first, last, len(outlets), count),
        )
        return outlets


BUCKET_SECONDS = 3600
"""Items published in the same hour share one document-frequency window (widened by that hour)."""


class _WindowCounts:
    """Document frequencies of tokens among clustered items near a date, for one clustering batch.

    Counting a common token's items in a busy window costs thousands of index rows, and every item
    of a batch asked again for the same tokens. Counts are cached per hour of publication and kept
    exact as the batch adds items, so later items see the earlier ones as before.
    """

    def __init__(self, conn: sqlite3.Connection, window: int) -> None:
        self._conn = conn
        self._window = window
        self._df: dict[int, dict[str, int]] = {}
        self._n: dict[int, int] = {}

    def _span(self, bucket: int) -> tuple[int, int]:
        start = bucket * BUCKET_SECONDS
        return start - self._window, start + BUCKET_SECONDS - 1 + self._window

    def frequencies(self, tokens: Iterable[str], published: int) -> tuple[Mapping[str, int], int]:
        """(token -> items containing it, items) in the window around `published`; the mapping may
        hold other tokens too."""
        bucket = published // BUCKET_SECONDS
        lo, hi = self._span(bucket)
        known = self._df.get(bucket)
        if known is None:
            known = self._df[bucket] = {}
            self._n[bucket] = int(
                self._conn.execute(
                    "SELECT count(*) FROM cluster_members WHERE published BETWEEN ? AND ?", (lo, hi)
                ).fetchone()[0]
            )
        missing = [t for t in tokens if t not in known]
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            known.update(dict.fromkeys(chunk, 0))
            marks = ",".join("?" * len(chunk))
            known.update(
                self._conn.execute(
                    f"SELECT token, count(*) FROM cluster_terms WHERE token IN ({marks}) "
                    "AND published BETWEEN ? AND ? GROUP BY token",
                    [*chunk, lo, hi],
                )
            )
        return known, self._n[bucket]

    def added(self, tokens: Iterable[str], published: int) -> None:
        """An item with these tokens was just indexed."""
        tokens = list(tokens)
        for bucket, known in self._df.items():
            lo, hi = self._span(bucket)
            if lo <= published <= hi:
                self._n[bucket] += 1
                for token in tokens:
                    if token in known:
                        known[token] += 1
