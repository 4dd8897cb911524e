"""Versioned schema: an ordered list of migrations, each applied once inside its own transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Execute statements one by one: executescript() would COMMIT the migration's open transaction."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            conn.execute(buffer)
            buffer = ""
    if buffer.strip():
        conn.execute(buffer)


def _v1_core(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE feeds (
            url TEXT PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            feed_title TEXT,
            etag TEXT,
            last_modified TEXT,
            last_polled INTEGER,
            last_success INTEGER,
            next_poll INTEGER,
            error_count INTEGER NOT NULL DEFAULT 0,
            error_kind TEXT,
            last_error TEXT,
            gone_count INTEGER NOT NULL DEFAULT 0,
            gone INTEGER NOT NULL DEFAULT 0,
            malformed INTEGER NOT NULL DEFAULT 0,
            not_modified INTEGER NOT NULL DEFAULT 0,
            redirect_count INTEGER NOT NULL DEFAULT 0,
            redirect_target TEXT,
            added_at INTEGER NOT NULL
        );
        CREATE TABLE items (
            rowid INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            feed_url TEXT NOT NULL,
            guid TEXT NOT NULL,
            link TEXT,
            title TEXT NOT NULL,
            summary TEXT NOT NULL,
            author TEXT,
            source TEXT NOT NULL,
            published INTEGER NOT NULL,
            fetched_at INTEGER NOT NULL,
            date_estimated INTEGER NOT NULL DEFAULT 0,
            content_hash TEXT NOT NULL,
            read INTEGER NOT NULL DEFAULT 0,
            starred INTEGER NOT NULL DEFAULT 0,
            cluster_id TEXT
        );
        CREATE INDEX items_published ON items (published DESC);
        CREATE INDEX items_feed ON items (feed_url, published DESC);
        CREATE INDEX items_cluster ON items (cluster_id);
        CREATE INDEX items_link ON items (link);
        CREATE INDEX items_fetched ON items (fetched_at);
        -- read is copied here so unread counts and unread-only panes need no join over a year of items
        CREATE TABLE item_tracks (
            item_rowid INTEGER NOT NULL REFERENCES items(rowid) ON DELETE CASCADE,
            track TEXT NOT NULL,
            published INTEGER NOT NULL,
            read INTEGER NOT NULL DEFAULT 0,
            terms TEXT NOT NULL,
            PRIMARY KEY (track, published, item_rowid)
        ) WITHOUT ROWID;
        CREATE INDEX item_tracks_item ON item_tracks (item_rowid);
        CREATE INDEX item_tracks_unread ON item_tracks (track, read);
        CREATE VIRTUAL TABLE items_fts USING fts5(
            title, summary, content='items', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN
            INSERT INTO items_fts (rowid, title, summary) VALUES (new.rowid, new.title, new.summary);
        END;
        CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN
            INSERT INTO items_fts (items_fts, rowid, title, summary)
            VALUES ('delete', old.rowid, old.title, old.summary);
        END;
        CREATE TRIGGER items_au AFTER UPDATE OF title, summary ON items BEGIN
            INSERT INTO items_fts (items_fts, rowid, title, summary)
            VALUES ('delete', old.rowid, old.title, old.summary);
            INSERT INTO items_fts (rowid, title, summary) VALUES (new.rowid, new.title, new.summary);
        END;
        -- one row per story; outlets = distinct sources, kept current by the clustering step
        CREATE TABLE clusters (
            id TEXT PRIMARY KEY,
            first_published INTEGER NOT NULL,
            last_published INTEGER NOT NULL,
            outlets INTEGER NOT NULL DEFAULT 1,
            items INTEGER NOT NULL DEFAULT 1,
            signature TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX clusters_last ON clusters (last_published);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE pane_seen (track TEXT PRIMARY KEY, seen_at INTEGER NOT NULL);
        CREATE TABLE alerts_raised (item_id TEXT NOT NULL, track TEXT NOT NULL, raised_at INTEGER NOT NULL,
            PRIMARY KEY (item_id, track));
        CREATE TABLE status_overrides (
            id INTEGER PRIMARY KEY,
            track TEXT NOT NULL,
            status TEXT,
            note TEXT,
            set_by TEXT NOT NULL,
            set_at INTEGER NOT NULL,
            action TEXT NOT NULL
        );
        CREATE INDEX status_overrides_track ON status_overrides (track, set_at DESC);
        CREATE TABLE status_history (
            track TEXT NOT NULL,
            day TEXT NOT NULL,
            status TEXT NOT NULL,
            momentum TEXT NOT NULL,
            rationale TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}',
            computed_at INTEGER NOT NULL,
            PRIMARY KEY (track, day)
        );
        """,
    )


def _v2_cluster_index(conn: sqlite3.Connection) -> None:
    """What incremental clustering matches new items against, so history is never re-tokenised."""
    run_script(
        conn,
        """
        -- one row per clustered item: duplicate keys and its weighted token vector (JSON)
        CREATE TABLE cluster_members (
            item_rowid INTEGER PRIMARY KEY REFERENCES items(rowid) ON DELETE CASCADE,
            published INTEGER NOT NULL,
            link_key TEXT,
            guid_key TEXT,
            title_key TEXT,
            vector TEXT NOT NULL
        );
        CREATE INDEX cluster_members_published ON cluster_members (published);
        CREATE INDEX cluster_members_link ON cluster_members (link_key);
        CREATE INDEX cluster_members_guid ON cluster_members (guid_key);
        CREATE INDEX cluster_members_title ON cluster_members (title_key, published);
        -- inverted index: which items in a time window share a token (candidates and document frequency)
        CREATE TABLE cluster_terms (
            token TEXT NOT NULL,
            published INTEGER NOT NULL,
            item_rowid INTEGER NOT NULL REFERENCES items(rowid) ON DELETE CASCADE,
            PRIMARY KEY (token, published, item_rowid)
        ) WITHOUT ROWID;
        CREATE INDEX cluster_terms_item ON cluster_terms (item_rowid);
        """,
    )


def _v4_unread_index(conn: sqlite3.Connection) -> None:
    """Unread items by date: the All pane's unread count and its unread-only view without a table scan."""
    # Partial: only unread rows are indexed, so it stays small as a year of items is read, and a count
    # of unread items reads this index alone (a full scan of a million items took about half a second).
    conn.execute("CREATE INDEX IF NOT EXISTS items_unread ON items (published) WHERE read = 0")


def _v5_negotiation_reads(conn: sqlite3.Connection) -> None:
    """What the negotiation engine read in each tracked item, so a status never re-reads the news."""
    run_script(
        conn,
        """
        -- one row per item and track it carries a signal for: the item's weights per signal (JSON) and
        -- what the status shows of it (phrases, actors, venues, upcoming sentences: JSON), keyed for
        -- the one query the engine makes, a track's rows in a time window
        CREATE TABLE negotiation_signals (
            track TEXT NOT NULL,
            published INTEGER NOT NULL,
            item_rowid INTEGER NOT NULL REFERENCES items(rowid) ON DELETE CASCADE,
            source TEXT NOT NULL,
            weights TEXT NOT NULL,
            detail TEXT NOT NULL,
            PRIMARY KEY (track, published, item_rowid)
        ) WITHOUT ROWID;
        CREATE INDEX negotiation_signals_item ON negotiation_signals (item_rowid);
        -- tracked items still to be read (new, changed, or read under another lexicon); a tracked item
        -- not listed here has been read. `token` changes whenever the item is queued again, so a
        -- reading of an older version is never saved over the newer one
        CREATE TABLE negotiation_pending (
            item_rowid INTEGER PRIMARY KEY REFERENCES items(rowid) ON DELETE CASCADE,
            published INTEGER NOT NULL,
            token INTEGER NOT NULL
        );
        CREATE INDEX negotiation_pending_published ON negotiation_pending (published);
        -- Filing an item under a track (on insert, update or retag) queues it, whoever writes it.
        CREATE TRIGGER negotiation_tracks_ai AFTER INSERT ON item_tracks BEGIN
            DELETE FROM negotiation_signals WHERE item_rowid = new.item_rowid;
            INSERT OR REPLACE INTO negotiation_pending (item_rowid, published, token)
            VALUES (new.item_rowid, new.published, random());
        END;
        -- The item may keep other tracks; its reading depends on all of them. A purged item is gone
        -- by now, and queues nothing.
        CREATE TRIGGER negotiation_tracks_ad AFTER DELETE ON item_tracks BEGIN
            DELETE FROM negotiation_signals WHERE item_rowid = old.item_rowid;
            INSERT OR REPLACE INTO negotiation_pending (item_rowid, published, token)
            SELECT rowid, published, random() FROM items WHERE rowid = old.item_rowid;
        END;
        CREATE TRIGGER negotiation_items_au AFTER UPDATE OF title, summary, source, feed_url, published ON items
        WHEN EXISTS (SELECT 1 FROM item_tracks WHERE item_rowid = new.rowid) BEGIN
            DELETE FROM negotiation_signals WHERE item_rowid = new.rowid;
            INSERT OR REPLACE INTO negotiation_pending (item_rowid, published, token)
            VALUES (new.rowid, new.published, random());
        END;
        """,
    )


def _v6_index_new_items_in_bulk(conn: sqlite3.Connection) -> None:
    """New items enter the full-text index in one statement per transaction (`ItemsMixin`), not per row."""
    # Fired per row, the trigger cost 60 us of a 90 us insert (10,000 items: 0.6 s); the same rows
    # indexed by one INSERT ... SELECT take 0.1 s. Updates and deletes keep their triggers: rare.
    conn.execute("DROP TRIGGER IF EXISTS items_ai")


def _v7_drop_link_index(conn: sqlite3.Connection) -> None:
    """No query looks items up by link (stories match links through `cluster_members.link_key`)."""
    # The index cost every insert a random B-tree write and a fifth of the file: 17.6 MB -> 13.8 MB
    # for 10,000 items, 19.8 MB of a 306 MB database of 144,000.
    conn.execute("DROP INDEX IF EXISTS items_link")


MIGRATIONS: dict[int, Migration] = {
    1: _v1_core,
    2: _v2_cluster_index,
    4: _v4_unread_index,
    5: _v5_negotiation_reads,
    6: _v6_index_new_items_in_bulk,
    7: _v7_drop_link_index,
}
"""Schema version -> migration. Add new versions at the end; never edit an applied one."""


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to the newest schema version; returns that version."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    for version in sorted(MIGRATIONS):
        if version <= current:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= version:
                conn.execute("ROLLBACK")
                continue
            MIGRATIONS[version](conn)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        current = version
    return max(current, conn.execute("PRAGMA user_version").fetchone()[0])
