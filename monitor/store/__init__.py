"""The store: the only place with SQL. Front ends (TUI, CLI, digest, negotiation) read through `Store`."""

from __future__ import annotations

from monitor.store.base import StoreError, from_ts, to_ts
from monitor.store.clusters import ClustersMixin
from monitor.store.feeds import FeedsMixin
from monitor.store.items import ItemsMixin, SaveResult
from monitor.store.queries import ALL, UNTRACKED, QueriesMixin, fts_query
from monitor.store.retention import RetentionMixin
from monitor.store.status import StatusMixin


class Store(ItemsMixin, QueriesMixin, RetentionMixin, FeedsMixin, StatusMixin, ClustersMixin):
    """One SQLite database file (WAL) with every query the front ends need."""


__all__ = ["ALL", "UNTRACKED", "SaveResult", "Store", "StoreError", "from_ts", "fts_query", "to_ts"]
