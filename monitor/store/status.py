"""Negotiation status storage: analyst overrides, daily history, and what the engine read in each item."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from monitor.models import Item
from monitor.negotiation.model import HistoryEntry, ItemRef, Override, OverrideChange, PendingRead, SignalRow
from monitor.store.base import StoreBase, from_ts, to_ts

LEXICON_KEY = "negotiation_lexicon"
"""Meta key: fingerprint of the configuration the stored readings were made with."""
_CHUNK = 500
"""Ids per `IN (...)` list: well under SQLite's bound-parameter limit."""


def _chunks(values: Sequence[int] | Sequence[str]) -> Iterable[Sequence[int] | Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class StatusMixin(StoreBase):
    """Queries over status_overrides (an append-only log of set/clear), status_history, and the
    engine's readings (negotiation_signals, with negotiation_pending queueing what is still to read)."""

    # ---- analyst overrides ------------------------------------------------------------------------

    def set_status_override(self, track: str, status: str, note: str, set_by: str, now: datetime) -> None:
        """Record the analyst's status for a track; earlier overrides stay in the log."""
        with self.write() as conn:
            conn.execute(
                "INSERT INTO status_overrides (track, status, note, set_by, set_at, action) VALUES (?, ?, ?, ?, ?, 'set')",
                (track, status, note, set_by, to_ts(now)),
            )

    def clear_status_override(self, track: str, set_by: str, now: datetime) -> bool:
        """Return the track to its computed status; False when no override was in force."""
        with self.write() as conn:
            current = self._latest_override(conn, track)
            if current is None or current[0] != "set":
                return False
            conn.execute(
                "INSERT INTO status_overrides (track, status, note, set_by, set_at, action) "
                "VALUES (?, NULL, NULL, ?, ?, 'clear')",
                (track, set_by, to_ts(now)),
            )
            return True

    @staticmethod
    def _latest_override(conn: object, track: str) -> tuple[str, str | None, str | None, str, int] | None:
        row = conn.execute(  # type: ignore[attr-defined]
            "SELECT action, status, note, set_by, set_at FROM status_overrides WHERE track = ? "
            "ORDER BY set_at DESC, id DESC LIMIT 1",
            (track,),
        ).fetchone()
        return None if row is None else tuple(row)  # type: ignore[return-value]

    def status_override(self, track: str) -> Override | None:
        """The override in force for a track, if any."""
        row = self._latest_override(self.conn, track)
        if row is None or row[0] != "set":
            return None
        _, status, note, set_by, set_at = row
        return Override(status=status or "", note=note or "", set_by=set_by, set_at=from_ts(set_at))  # type: ignore[arg-type]

    def status_overrides(self, tracks: Iterable[str]) -> dict[str, Override]:
        """Overrides in force, by track (tracks without one are absent)."""
        out = {}
        for track in tracks:
            override = self.status_override(track)
            if override is not None:
                out[track] = override
        return out

    def override_history(self, track: str, limit: int = 100) -> list[OverrideChange]:
        """Every set and clear for a track, newest first."""
        rows = self.conn.execute(
            "SELECT action, status, note, set_by, set_at FROM status_overrides WHERE track = ? "
            "ORDER BY set_at DESC, id DESC LIMIT ?",
            (track, limit),
        ).fetchall()
        return [
            OverrideChange(track=track, action=a, status=s, note=n, set_by=b, set_at=from_ts(t))  # type: ignore[arg-type]
            for a, s, n, b, t in rows
        ]

    # ---- daily history ----------------------------------------------------------------------------

    def save_status_history(self, entries: Iterable[HistoryEntry]) -> None:
        """Insert or replace one row per (track, day)."""
        rows = [
            (
                e.track,
                e.day,
                e.status,
                e.momentum,
                e.rationale,
                json.dumps(e.detail, sort_keys=True),
                to_ts(e.computed_at),
            )
            for e in entries
        ]
        if not rows:
            return
        with self.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO status_history (track, day, status, momentum, rationale, detail, computed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def status_history(
        self, track: str | None = None, *, since: date | None = None, until: date | None = None
    ) -> list[HistoryEntry]:
        """Stored daily statuses, oldest first; `until` is inclusive."""
        where: list[str] = []
        args: list[object] = []
        if track is not None:
            where.append("track = ?")
            args.append(track)
        if since is not None:
            where.append("day >= ?")
            args.append(since.isoformat())
        if until is not None:
            where.append("day <= ?")
            args.append(until.isoformat())
        sql = "SELECT track, day, status, momentum, rationale, detail, computed_at FROM status_history"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY day, track"
        return [
            HistoryEntry(
                track=t,
                day=d,
                status=s,
                momentum=m,
                rationale=r,
                computed_at=from_ts(c),  # type: ignore[arg-type]
                detail=json.loads(x or "{}"),
            )
            for t, d, s, m, r, x, c in self.conn.execute(sql, args)
        ]

    def first_published(self) -> datetime | None:
        """Publication time of the oldest stored item (where backfilled history can start)."""
        row = self.conn.execute("SELECT min(published) FROM items").fetchone()
        return from_ts(row[0]) if row and row[0] is not None else None

    # ---- the engine's readings --------------------------------------------------------------------

    def negotiation_lexicon(self) -> str | None:
        """Fingerprint of the configuration the stored readings were made with (None: never read)."""
        return self.get_meta(LEXICON_KEY)

    def reset_negotiation_reads(self, fingerprint: str) -> bool:
        """Drop every stored reading and queue every tracked item again, under a new configuration;
        False when another thread or process already did it for this fingerprint."""
        with self.write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (LEXICON_KEY,)).fetchone()
            if row is not None and row[0] == fingerprint:
                return False
            conn.execute("DELETE FROM negotiation_signals")
            conn.execute("DELETE FROM negotiation_pending")
            conn.execute(
                "INSERT INTO negotiation_pending (item_rowid, published, token) "
                "SELECT item_rowid, min(published), random() FROM item_tracks GROUP BY item_rowid"
            )
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (LEXICON_KEY, fingerprint))
            return True

    def pending_reads(self, since: int, until: int, limit: int) -> list[PendingRead]:
        """Up to `limit` queued items published in [since, until) (epoch seconds), with their text."""
        rows = self.conn.execute(
            "SELECT item_rowid, token FROM negotiation_pending WHERE published >= ? AND published < ? LIMIT ?",
            (since, until, limit),
        ).fetchall()
        return self._pending_reads(rows)

    def pending_reads_of(self, item_ids: Sequence[str]) -> list[PendingRead]:
        """The queued items among these item ids, with their text."""
        rows: list[tuple[int, int]] = []
        for chunk in _chunks(item_ids):
            marks = ",".join("?" * len(chunk))
            rows += self.conn.execute(
                "SELECT p.item_rowid, p.token FROM items i JOIN negotiation_pending p ON p.item_rowid = i.rowid "
                f"WHERE i.id IN ({marks})",
                list(chunk),
            ).fetchall()
        return self._pending_reads(rows)

    def _pending_reads(self, rows: Sequence[tuple[int, int]]) -> list[PendingRead]:
        if not rows:
            return []
        items: dict[int, Item] = self.items_by_rowid(rowid for rowid, _ in rows)  # type: ignore[attr-defined]
        out = []
        for rowid, token in rows:
            item = items.get(rowid)
            out.append(PendingRead(rowid, token, item))
        return out

    def save_reads(self, done: Sequence[PendingRead], rows: Sequence[SignalRow]) -> int:
        """Store the readings of these queued items and take them off the queue, in one transaction.
        An item queued again meanwhile (its token changed: edited, retagged) keeps its place in the
        queue and its reading is dropped. Returns how many readings were saved."""
        by_item: dict[int, list[SignalRow]] = {}
        for row in rows:
            by_item.setdefault(row.item_rowid, []).append(row)
        saved = 0
        with self.write() as conn:
            for read in done:
                current = conn.execute(
                    "SELECT token FROM negotiation_pending WHERE item_rowid = ?", (read.rowid,)
                ).fetchone()
                if current is None or current[0] != read.token:
                    continue
                conn.execute("DELETE FROM negotiation_signals WHERE item_rowid = ?", (read.rowid,))
                conn.executemany(
                    "INSERT OR REPLACE INTO negotiation_signals (track, published, item_rowid, source, weights, "
                    "detail) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (r.track, r.published, r.item_rowid, r.source, r.weights, r.detail)
                        for r in by_item.get(read.rowid, ())
                    ],
                )
                conn.execute("DELETE FROM negotiation_pending WHERE item_rowid = ?", (read.rowid,))
                saved += 1
        return saved

    def signal_rows(self, track: str, since: int, until: int) -> list[tuple[int, int, str, str, str]]:
        """A track's stored readings published in [since, until) (epoch seconds), oldest first, as
        (published, item rowid, source, weights, detail): tens of thousands per status, so plain tuples."""
        return self.conn.execute(
            "SELECT published, item_rowid, source, weights, detail FROM negotiation_signals "
            "WHERE track = ? AND published >= ? AND published < ? ORDER BY published, item_rowid",
            (track, since, until),
        ).fetchall()

    def item_refs(self, rowids: Iterable[int]) -> dict[int, ItemRef]:
        """Id, title, source, link and publication time of these items, by rowid."""
        wanted = sorted(set(rowids))
        out: dict[int, ItemRef] = {}
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            for rowid, item_id, title, source, link, published in self.conn.execute(
                f"SELECT rowid, id, title, source, link, published FROM items WHERE rowid IN ({marks})",
                list(chunk),
            ):
                out[rowid] = ItemRef(item_id, title, source, link, from_ts(published))  # type: ignore[arg-type]
        return out
