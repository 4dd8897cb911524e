"""Negotiation status storage: analyst overrides and the daily computed-status history."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime

from monitor.negotiation.model import HistoryEntry, Override, OverrideChange
from monitor.store.base import StoreBase, from_ts, to_ts


class StatusMixin(StoreBase):
    """Queries over status_overrides (an append-only log of set/clear) and status_history."""

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
