"""Connection handling for the store: one SQLite file, WAL, a connection per thread, explicit transactions."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.store.schema import migrate

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_MS = 10_000
"""How long a writer waits for another process's write lock before failing."""
JOURNAL_SIZE_LIMIT = 32 * 1024 * 1024
"""Bytes of WAL file kept after a checkpoint (a poll cycle of 1,000 items writes about 8 MB to it, a step
of retention's full-text merge up to about 30 MB; a rebuild of the index, hundreds)."""


class StoreError(Exception):
    """A storage problem worth a clear message (disk full, read-only file, locked, corrupt)."""


def to_ts(moment: datetime) -> int:
    return int(moment.timestamp())


def from_ts(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def describe_sqlite_error(exc: sqlite3.Error, path: Path) -> str:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return f"database {path} is read-only ({text})"
    if "disk is full" in text or "database or disk is full" in text:
        return f"disk full while writing {path} ({text})"
    if "locked" in text or "busy" in text:
        return f"database {path} is busy: another process holds the write lock ({text})"
    return f"database error in {path}: {text}"


class StoreBase:
    """Owns the connections; subclasses (mixins) add the queries."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = self.conn
            conn.execute("PRAGMA journal_mode=WAL")
            migrate(conn)
        except sqlite3.Error as exc:
            raise StoreError(describe_sqlite_error(exc, self.path)) from None

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a read-then-write never
        # fails at once under contention the way a deferred transaction does.
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA temp_store=MEMORY")
        # After a big transaction (a full FTS merge step, a rebuild) the WAL is cut back to this size
        # once checkpointed, instead of staying at its largest.
        conn.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        with self._lock:
            self._all.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils view of this thread's connection (for introspection and bulk helpers)."""
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            # Imported here: it costs about 0.1 s, and a poll or the TUI never needs it.
            import sqlite_utils

            db = sqlite_utils.Database(self.conn)
            self._local.db = db
        return db

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction taken with BEGIN IMMEDIATE; rolled back whole on any error."""
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(describe_sqlite_error(exc, self.path)) from None
        try:
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(describe_sqlite_error(exc, self.path)) from None
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def data_version(self) -> int:
        """Changes when another connection commits: a cheap 'is there anything new?' check."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
