"""Feed rows: which feeds exist, their validators, health and schedule."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from monitor.config import FeedConfig
from monitor.models import FeedState, FeedStatus
from monitor.store.base import StoreBase, from_ts, to_ts

_FEED_COLUMNS = (
    "url, title, feed_title, etag, last_modified, last_polled, last_success, next_poll, error_count, "
    "error_kind, last_error, gone_count, gone, malformed, not_modified, redirect_count, redirect_target"
)


def _status(row: sqlite3.Row | tuple) -> FeedStatus:
    (_, _, _, _, _, last_polled, _, _, error_count, _, _, _, gone, _, not_modified, *_) = row
    if gone:
        return FeedStatus.GONE
    if last_polled is None:
        return FeedStatus.NEVER_POLLED
    if error_count:
        return FeedStatus.FAILING
    if not_modified:
        return FeedStatus.NOT_MODIFIED
    return FeedStatus.OK


def _feed_state(row: tuple, items: int) -> FeedState:
    (
        url,
        title,
        feed_title,
        etag,
        last_modified,
        last_polled,
        last_success,
        next_poll,
        error_count,
        error_kind,
        last_error,
        gone_count,
        _gone,
        malformed,
        _nm,
        redirect_count,
        redirect_target,
    ) = row
    return FeedState(
        url=url,
        title=title or feed_title or url,
        status=_status(row),
        etag=etag,
        last_modified=last_modified,
        last_polled=from_ts(last_polled),
        last_success=from_ts(last_success),
        next_poll=from_ts(next_poll),
        error_count=error_count,
        error_kind=error_kind,
        last_error=last_error,
        gone_count=gone_count,
        malformed=bool(malformed),
        items=items,
        redirect_count=redirect_count,
        redirect_target=redirect_target,
    )


class FeedsMixin(StoreBase):
    def sync_feeds(self, feeds: Sequence[FeedConfig], now: datetime) -> None:
        """Make the feeds table match the configured list; state of feeds that stay is kept."""
        wanted = {f.url: f for f in feeds}
        with self.write() as conn:
            existing = {row[0] for row in conn.execute("SELECT url FROM feeds")}
            for url in existing - wanted.keys():
                conn.execute("DELETE FROM feeds WHERE url = ?", (url,))
            for url, feed in wanted.items():
                if url in existing:
                    conn.execute("UPDATE feeds SET title = ? WHERE url = ?", (feed.title, url))
                else:
                    conn.execute(
                        "INSERT INTO feeds (url, title, added_at) VALUES (?, ?, ?)",
                        (url, feed.title, to_ts(now)),
                    )

    def feed_states(self, *, counts: bool = True) -> list[FeedState]:
        """Every configured feed, by title. `counts=False` leaves `FeedState.items` at 0: counting
        items per feed reads an index entry per stored item (over 100 ms at a million items), and
        only the feed-health screen and `sitmon feeds` show the counts."""
        item_counts = self.feed_item_counts() if counts else {}
        rows = self.conn.execute(
            f"SELECT {_FEED_COLUMNS} FROM feeds ORDER BY title COLLATE NOCASE, url"
        ).fetchall()
        return [_feed_state(row, item_counts.get(row[0], 0)) for row in rows]

    def feed_item_counts(self) -> dict[str, int]:
        """Stored items per feed URL (feeds without items are left out)."""
        return dict(self.conn.execute("SELECT feed_url, count(*) FROM items GROUP BY feed_url").fetchall())

    def feed_state(self, url: str) -> FeedState | None:
        row = self.conn.execute(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE url = ?", (url,)).fetchone()
        if row is None:
            return None
        items = self.conn.execute("SELECT count(*) FROM items WHERE feed_url = ?", (url,)).fetchone()[0]
        return _feed_state(row, items)

    def due_feeds(self, now: datetime, *, force: bool = False) -> list[FeedState]:
        """Feeds whose next poll has come; `force` ignores schedule and back-off but never revives gone feeds.

        Item counts are left at 0: the poller never reads them."""
        states = self.feed_states(counts=False)
        if force:
            return [s for s in states if s.status is not FeedStatus.GONE]
        return [
            s
            for s in states
            if s.status is not FeedStatus.GONE and (s.next_poll is None or s.next_poll <= now)
        ]

    def next_due(self) -> datetime | None:
        row = self.conn.execute("SELECT min(next_poll) FROM feeds WHERE gone = 0").fetchone()
        return from_ts(row[0]) if row and row[0] is not None else None

    def revive_feed(self, url: str) -> bool:
        """Retry a feed marked gone, by hand."""
        with self.write() as conn:
            cur = conn.execute(
                "UPDATE feeds SET gone = 0, gone_count = 0, error_count = 0, next_poll = NULL WHERE url = ?",
                (url,),
            )
            return cur.rowcount > 0

    def write_feed_state(
        self, conn: sqlite3.Connection, state: FeedState, *, feed_title: str | None, not_modified: bool
    ) -> None:
        """Record a poll's outcome; called inside the transaction that also stores the feed's items."""
        conn.execute(
            """UPDATE feeds SET feed_title = coalesce(?, feed_title), etag = ?, last_modified = ?, last_polled = ?,
                   last_success = ?, next_poll = ?, error_count = ?, error_kind = ?, last_error = ?,
                   gone_count = ?, gone = ?, malformed = ?, not_modified = ?, redirect_count = ?,
                   redirect_target = ?
               WHERE url = ?""",
            (
                feed_title,
                state.etag,
                state.last_modified,
                to_ts(state.last_polled) if state.last_polled else None,
                to_ts(state.last_success) if state.last_success else None,
                to_ts(state.next_poll) if state.next_poll else None,
                state.error_count,
                state.error_kind,
                state.last_error,
                state.gone_count,
                int(state.status is FeedStatus.GONE),
                int(state.malformed),
                int(not_modified),
                state.redirect_count,
                state.redirect_target,
                state.url,
            ),
        )
