"""The store: the only place with SQL. Front ends (TUI, CLI, digest, negotiation) read through `Store`."""

from __future__ import annotations

from monitor.store.base import StoreError, from_ts, to_ts
from monitor.store.clusters import ClustersMixin
from monitor.store.feeds import FeedsMixin
from monitor.store.items import ALL, UNTRACKED, ItemsMixin, SaveResult, fts_query
from monitor.store.status import StatusMixin


class Store(ItemsMixin, FeedsMixin, StatusMixin, ClustersMixin):
    """One SQLite database file (WAL) with every query the front ends need."""


__all__ = ["ALL", "UNTRACKED", "SaveResult", "Store", "StoreError", "from_ts", "fts_query", "to_ts"]
