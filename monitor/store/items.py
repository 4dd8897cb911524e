"""Items: writing a feed's entries in one transaction (queries are in `queries.py`)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from monitor.models import CleanEntry, FeedState
from monitor.store.base import StoreBase, StoreError, to_ts


@dataclass(frozen=True, slots=True)
class SaveResult:
    """Ids of the items a feed poll added and changed."""

    new_ids: list[str] = field(default_factory=list)
    updated_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PollSave:
    """One feed's poll outcome to store: its new state and, when it changed, its clean entries and tags."""

    state: FeedState
    now: datetime
    entries: Sequence[CleanEntry] = ()
    tags: Mapping[str, Mapping[str, Sequence[str]]] = field(default_factory=dict)
    source: str = ""
    feed_title: str | None = None
    not_modified: bool = False


def content_hash(entry: CleanEntry) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    for part in (entry.title, entry.summary, entry.link or "", entry.author or ""):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


class _NewItems:
    """The items a write transaction inserts, indexed for full-text search in one statement.

    Indexed row by row (an insert trigger), FTS5 cost 60 us of an item's 90 us insert; one
    INSERT ... SELECT over the same rows costs a sixth of that. Rowids only grow and the transaction
    holds the write lock, so the new rows are exactly those past the largest rowid seen at its start.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._indexed_up_to: int | None = None
        """Largest rowid before the first insert not yet indexed; None when there is nothing to index."""

    def before_insert(self) -> None:
        if self._indexed_up_to is None:
            self._indexed_up_to = int(
                self.conn.execute("SELECT coalesce(max(rowid), 0) FROM items").fetchone()[0]
            )

    def index(self) -> None:
        """Index every item inserted since the last call (or the transaction's start)."""
        if self._indexed_up_to is None:
            return  # a feed that answered 304, or had nothing new
        self.conn.execute(
            "INSERT INTO items_fts (rowid, title, summary) SELECT rowid, title, summary FROM items WHERE rowid > ?",
            (self._indexed_up_to,),
        )
        self._indexed_up_to = None


class ItemsMixin(StoreBase):
    def save_poll(
        self,
        state: FeedState,
        *,
        entries: Sequence[CleanEntry] = (),
        tags: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        source: str = "",
        now: datetime,
        feed_title: str | None = None,
        not_modified: bool = False,
    ) -> SaveResult:
        """Store one feed's entries and its new state in one transaction: all of it lands or none does."""
        save = PollSave(state, now, entries, tags or {}, source, feed_title, not_modified)
        with self._write_items() as batch:
            return self._save_in(batch, save)

    def save_polls(self, saves: Sequence[PollSave]) -> list[SaveResult | StoreError]:
        """Store several feeds' polls in one transaction; each result is a SaveResult or that feed's StoreError.

        One commit for many feeds costs far less than one each (FTS5 writes a segment per commit). If
        anything fails, the batch is rolled back and every feed is saved again in its own transaction, so
        one feed's failure never costs another feed its items: per feed, all of it lands or none does.
        """
        if len(saves) == 1:
            return [self._save_alone(saves[0])]
        try:
            with self._write_items() as batch:
                return [self._save_in(batch, save) for save in saves]
        except StoreError:
            return [self._save_alone(save) for save in saves]

    def _save_alone(self, save: PollSave) -> SaveResult | StoreError:
        try:
            with self._write_items() as batch:
                return self._save_in(batch, save)
        except StoreError as exc:
            return exc

    @contextmanager
    def _write_items(self) -> Iterator[_NewItems]:
        """A write transaction whose new items enter the full-text index together, just before it commits."""
        with self.write() as conn:
            batch = _NewItems(conn)
            yield batch
            batch.index()

    def _save_in(self, batch: _NewItems, save: PollSave) -> SaveResult:
        conn = batch.conn
        state, tags = save.state, save.tags
        fetched = to_ts(save.now)
        new_ids: list[str] = []
        updated_ids: list[str] = []
        self.write_feed_state(conn, state, feed_title=save.feed_title, not_modified=save.not_modified)  # type: ignore[attr-defined]
        if save.entries:
            unique: dict[str, CleanEntry] = {}
            for entry in save.entries:
                unique.setdefault(entry.id, entry)  # first wins: feeds list newest first
            known = self._known_hashes(conn, list(unique))
            for entry_id, entry in unique.items():
                digest = content_hash(entry)
                old = known.get(entry_id)
                if old is None:
                    batch.before_insert()
                    rowid = self._insert_item(conn, entry, state.url, save.source, fetched, digest)
                    self._write_tracks(conn, rowid, tags.get(entry_id, {}), to_ts(entry.published), 0)
                    new_ids.append(entry_id)
                elif old[1] != digest:
                    rowid = old[0]
                    # The update trigger takes the old text out of the full-text index: it must be in.
                    batch.index()
                    conn.execute(
                        "UPDATE items SET link = ?, title = ?, summary = ?, author = ?, content_hash = ? "
                        "WHERE rowid = ?",
                        (entry.link, entry.title, entry.summary, entry.author, digest, rowid),
                    )
                    read = conn.execute("SELECT read FROM items WHERE rowid = ?", (rowid,)).fetchone()[0]
                    published = conn.execute(
                        "SELECT published FROM items WHERE rowid = ?", (rowid,)
                    ).fetchone()[0]
                    conn.execute("DELETE FROM item_tracks WHERE item_rowid = ?", (rowid,))
                    self._write_tracks(conn, rowid, tags.get(entry_id, {}), published, read)
                    updated_ids.append(entry_id)
        return SaveResult(new_ids, updated_ids)

    @staticmethod
    def _known_hashes(conn: sqlite3.Connection, ids: list[str]) -> dict[str, tuple[int, str]]:
        known: dict[str, tuple[int, str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for rowid, item_id, digest in conn.execute(
                f"SELECT rowid, id, content_hash FROM items WHERE id IN ({marks})", chunk
            ):
                known[item_id] = (rowid, digest)
        return known

    @staticmethod
    def _insert_item(
        conn: sqlite3.Connection, entry: CleanEntry, feed_url: str, source: str, fetched: int, digest: str
    ) -> int:
        cur = conn.execute(
            "INSERT INTO items (id, feed_url, guid, link, title, summary, author, source, published, fetched_at, "
            "date_estimated, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.id,
                feed_url,
                entry.guid,
                entry.link,
                entry.title,
                entry.summary,
                entry.author,
                source,
                to_ts(entry.published),
                fetched,
                int(entry.date_estimated),
                digest,
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    @staticmethod
    def _write_tracks(
        conn: sqlite3.Connection, rowid: int, matched: Mapping[str, Sequence[str]], published: int, read: int
    ) -> None:
        if not matched:
            return  # most items match no track: skip the statement round trip
        conn.executemany(
            "INSERT OR REPLACE INTO item_tracks (item_rowid, track, published, read, terms) VALUES (?, ?, ?, ?, ?)",
            [(rowid, track, published, read, json.dumps(list(terms))) for track, terms in matched.items()],
        )

    def retag(self, tagger_tag: object, batch: int = 2000) -> int:
        """Re-run tagging over every stored item (after the track lexicon changed); returns items changed."""
        tag = tagger_tag  # a callable (title, summary) -> dict[track, terms]
        changed = 0
        last = 0
        while True:
            rows = self.conn.execute(
                "SELECT rowid, title, summary, published, read FROM items WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return changed
            with self.write() as conn:
                for rowid, title, summary, published, read in rows:
                    matched = tag(title, summary)  # type: ignore[operator]
                    old = {
                        t: json.loads(terms)
                        for t, terms in conn.execute(
                            "SELECT track, terms FROM item_tracks WHERE item_rowid = ?", (rowid,)
                        )
                    }
                    if old != {t: list(v) for t, v in matched.items()}:
                        conn.execute("DELETE FROM item_tracks WHERE item_rowid = ?", (rowid,))
                        self._write_tracks(conn, rowid, matched, published, read)
                        changed += 1
            last = rows[-1][0]
