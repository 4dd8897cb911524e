"""Retention: deleting old items so a database kept for months stays the size of its window.

Deleting a row from the FTS5 index does not make the index smaller: the delete writes a tombstone into a
new segment, and the row's postings and its tombstone only go when a merge writes the oldest segment.
FTS5's automatic merges do that rarely, so under retention's rolling window the index grew to three and
a half times its live size (`tests.benchmarks.soak`). So retention counts the rows it deletes and, once
they reach a quarter of the rows kept, merges the whole index into one segment. It does that as FTS5's
incremental optimize ('merge' with a negative page count, then positive counts until a step does
nothing), a bounded number of pages per write transaction and a bounded time per purge, so the poller
and a viewer's writes never wait long; a merge left unfinished goes on at the next purge.

SQLite 3.40 adds two empty levels to the index structure at every such merge and reports the index
corrupt past 2,000 levels (later versions stop at 64), so once the structure has `fts_level_limit`
levels the round runs 'rebuild' instead, which starts the structure afresh: one transaction that reads
every item again (16 s at 1M items), once in about 500 rounds.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import time
from datetime import datetime

from monitor.store.base import StoreBase, StoreError, to_ts
from monitor.store.clusters import ClustersMixin

META_DELETED = "fts_deleted_since_merge"
"""Rows retention deleted since the last full merge of the FTS index started."""
META_PENDING = "fts_merge_pending"
"""'1' while a full merge is under way (it may span several purges)."""
META_DUE_AT = "fts_merge_due_at"
"""Deleted rows at which to count the items again and see whether a merge is due."""
_CHUNK = 500


def fts_levels(conn: sqlite3.Connection) -> int:
    """Levels in the FTS5 index's structure record (0 if it cannot be read).

    The record starts with a 4-byte cookie, then (from SQLite 3.43, for some tables) a 4-byte version
    marker, then the level count as a SQLite varint."""
    row = conn.execute("SELECT block FROM items_fts_data WHERE id = 10").fetchone()
    block = bytes(row[0]) if row and row[0] is not None else b""
    at = 8 if block[4:8] == b"\xff\x00\x00\x01" else 4
    value = 0
    for index, byte in enumerate(block[at : at + 9]):
        if index == 8:
            return (value << 8) | byte
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value
    return 0


class RetentionMixin(StoreBase):
    fts_merge_fraction = 0.25
    """A full merge of the FTS index starts once retention has deleted this fraction of the rows kept."""
    fts_merge_min_rows = 1000
    """... and at least this many rows (a small index is not worth the work)."""
    fts_merge_pages = 1000
    """FTS5 pages written per merge step, one write transaction each: 0.15 to 0.25 s on the benchmark machine
    at 144k and at 1M items (`python -m tests.benchmarks.soak --merge-cost DB`)."""
    fts_merge_seconds = 1.0
    """Merge steps run by one purge until this much time has gone (at least one step); the rest waits."""
    fts_level_limit = 1000
    """Structure levels at which a round rebuilds the index instead of merging it (see the module doc)."""

    def purge_older_than(self, cutoff: datetime) -> int:
        """Retention: delete unstarred items published before `cutoff`; returns how many went.

        What hangs off an item goes with it (tracks, cluster index, negotiation readings by cascade;
        its alerts once they are older than the cutoff); stories it leaves empty are deleted and the
        others recounted. Then the FTS index is merged when enough was deleted (see the module doc)."""
        cut = to_ts(cutoff)
        with self.write() as conn:
            stories = [
                row[0]
                for row in conn.execute(
                    "SELECT DISTINCT cluster_id FROM items "
                    "WHERE published < ? AND starred = 0 AND cluster_id IS NOT NULL",
                    (cut,),
                )
            ]
            deleted = conn.execute("DELETE FROM items WHERE published < ? AND starred = 0", (cut,)).rowcount
            for start in range(0, len(stories), _CHUNK):
                chunk = stories[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                conn.execute(
                    f"DELETE FROM clusters WHERE id IN ({marks}) "
                    "AND NOT EXISTS (SELECT 1 FROM items i WHERE i.cluster_id = clusters.id)",
                    chunk,
                )
                kept = [
                    row[0] for row in conn.execute(f"SELECT id FROM clusters WHERE id IN ({marks})", chunk)
                ]
                if kept:
                    # Imported here, as in assign_clusters: a poll without stories never needs it.
                    from monitor.clustering import outlet_key

                    for story in kept:
                        ClustersMixin._refresh_cluster(conn, story, outlet_key)
            conn.execute(
                "DELETE FROM alerts_raised WHERE raised_at < ? "
                "AND NOT EXISTS (SELECT 1 FROM items i WHERE i.id = alerts_raised.item_id)",
                (cut,),
            )
            if deleted:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                    "SET value = CAST(value AS INTEGER) + excluded.value",
                    (META_DELETED, str(deleted)),
                )
        with contextlib.suppress(StoreError):
            # The items are gone either way; a merge that could not run (locked, disk full) runs later.
            self.maintain_fts()
        return deleted

    def fts_merge_due(self) -> bool:
        """True when a full merge is under way or retention has deleted enough since the last one."""
        if self.get_meta(META_PENDING) == "1":
            return True
        deleted = int(self.get_meta(META_DELETED) or 0)
        if deleted < max(self.fts_merge_min_rows, int(self.get_meta(META_DUE_AT) or 0)):
            return False
        # Counting a million rows takes a tenth of a second: done only when the last count's mark is
        # reached, which at a steady size is once a round.
        kept = int(self.conn.execute("SELECT count(*) FROM items").fetchone()[0])
        need = max(self.fts_merge_min_rows, math.ceil(self.fts_merge_fraction * kept))
        if deleted >= need:
            return True
        self.set_meta(META_DUE_AT, str(need))
        return False

    def maintain_fts(self, *, seconds: float | None = None) -> str | None:
        """Start or go on with a full merge of the FTS index if one is due. Returns None (nothing due),
        'merging' (steps left for the next call), 'merged' or 'rebuilt'.

        Runs merge steps until `seconds` (default `fts_merge_seconds`) have gone, at least one."""
        if not self.fts_merge_due():
            return None
        budget = self.fts_merge_seconds if seconds is None else seconds
        began = time.perf_counter()
        if self.get_meta(META_PENDING) == "1":
            if not self._merge_step():
                return "merged"
        elif fts_levels(self.conn) >= self.fts_level_limit:
            with self.write() as conn:
                conn.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")
                self._start_round(conn, pending=False)
            return "rebuilt"
        else:
            with self.write() as conn:
                # Negative: every segment is put on one level and merged, however few there are.
                conn.execute(
                    "INSERT INTO items_fts (items_fts, rank) VALUES ('merge', ?)", (-self.fts_merge_pages,)
                )
                self._start_round(conn, pending=True)
        while time.perf_counter() - began < budget:
            if not self._merge_step():
                return "merged"
        return "merging"

    @staticmethod
    def _start_round(conn: sqlite3.Connection, *, pending: bool) -> None:
        # Deletes from here on count towards the next round.
        for key, value in ((META_DELETED, "0"), (META_DUE_AT, "0"), (META_PENDING, "1" if pending else "0")):
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        # A story whose items all went some other way than a purge (none should) goes here, once a round.
        conn.execute(
            "DELETE FROM clusters WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.cluster_id = clusters.id)"
        )

    def _merge_step(self) -> bool:
        """One bounded step of the merge under way; False (and the round closed) when it did nothing."""
        with self.write() as conn:
            before = conn.total_changes
            conn.execute(
                "INSERT INTO items_fts (items_fts, rank) VALUES ('merge', ?)", (self.fts_merge_pages,)
            )
            # The FTS documentation's test: a 'merge' that changed fewer than two rows had nothing to do.
            if conn.total_changes - before >= 2:
                return True
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '0')", (META_PENDING,))
            return False
