"""The query layer every front end reads: item lists, counts, search, read state."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
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
MANY_MATCHES = 2000
"""From this many full-text matches on, a search walks the date index instead of sorting every match."""


_FTS_TOKEN = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str | None:
    """Turn what a person typed into a safe FTS5 query: every word must match, the last as a prefix."""
    words = _FTS_TOKEN.findall(text)
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


class QueriesMixin(StoreBase):
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
    ) -> list[Item]:
        """Newest first. `track` is a track id, ALL/None for everything, UNTRACKED for items with no track.

        `before` is a (published, rowid) keyset cursor from `Item`-paging, so deep pages cost the same
        as the first one.
        """
        where: list[str] = []
        args: list[object] = []
        use_tracks = track not in (None, ALL, UNTRACKED)
        pub = "it.published" if use_tracks else "i.published"
        rowid = "it.item_rowid" if use_tracks else "i.rowid"
        if use_tracks:
            sql_from = "item_tracks it JOIN items i ON i.rowid = it.item_rowid LEFT JOIN clusters c ON c.id = i.cluster_id"
            where.append("it.track = ?")
            args.append(track)
            if unread_only:
                where.append("it.read = 0")
        else:
            sql_from = _FROM_ITEMS
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
        if before is not None:
            where.append(f"({pub}, {rowid}) < (?, ?)")
            args.extend((to_ts(before[0]), before[1]))
        if search:
            query = fts_query(search)
            if query is None:
                return []
            # Same rows, cheaper plans. In a track pane the matches are tested against the pane's own
            # rows (it.item_rowid): tested against items.rowid, SQLite walked every row of the track
            # when nothing matched (0.4 s at a million items). Elsewhere two plans compete: look up each
            # match and sort (fast when matches are few), or walk the date index newest first keeping
            # rows that match (fast when they are many: a word in one item in ten cost half a second
            # the first way). The unary + stops SQLite from driving the lookup with the match list.
            column = "i.rowid"
            if use_tracks:
                column = "it.item_rowid"
            elif self._many_matches(query):
                column = "+i.rowid"
            where.append(f"{column} IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)")
            args.append(query)
        sql = f"SELECT {_ITEM_COLUMNS} FROM {sql_from}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {pub} DESC, {rowid} DESC LIMIT ?"
        args.append(limit)
        rows = self.conn.execute(sql, args).fetchall()
        return self._items_from_rows(rows)

    def _many_matches(self, query: str) -> bool:
        """Whether a full-text query matches at least MANY_MATCHES items (stops counting there: a few ms)."""
        row = self.conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM items_fts WHERE items_fts MATCH ? LIMIT ?)",
            (query, MANY_MATCHES),
        ).fetchone()
        return int(row[0]) >= MANY_MATCHES

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

    def get_items(self, item_ids: Iterable[str]) -> list[Item]:
        """Items by id, in the order asked (missing ids are skipped)."""
        ids = list(item_ids)
        found: dict[str, Item] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT {_ITEM_COLUMNS} FROM {_FROM_ITEMS} WHERE i.id IN ({marks})", chunk
            ).fetchall()
            found.update((item.id, item) for item in self._items_from_rows(rows))
        return [found[i] for i in ids if i in found]

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
