"""Retention: deleting old items so a database kept for months stays the size of its window."""

from __future__ import annotations

from datetime import datetime

from monitor.store.base import StoreBase, to_ts


class RetentionMixin(StoreBase):
    def purge_older_than(self, cutoff: datetime) -> int:
        """Retention: delete unstarred items published before `cutoff`; returns how many went."""
        with self.write() as conn:
            cur = conn.execute("DELETE FROM items WHERE published < ? AND starred = 0", (to_ts(cutoff),))
            conn.execute(
                "DELETE FROM clusters WHERE id NOT IN (SELECT cluster_id FROM items WHERE cluster_id IS NOT NULL)"
            )
            if cur.rowcount:
                # Deletes leave tombstones in FTS5 segments until they merge; a bounded merge after each
                # purge keeps the index from growing while the item count stays level (seen in the soak).
                conn.execute("INSERT INTO items_fts (items_fts, rank) VALUES ('merge', 500)")
            return cur.rowcount
