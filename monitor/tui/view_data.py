"""What the main screen shows, read in one go through the store's query layer (runs in a worker thread)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from monitor.models import FeedState, Item
from monitor.store import ALL, UNTRACKED, Store


@dataclass(frozen=True, slots=True)
class ViewQuery:
    """Everything that decides which rows the panes show."""

    panes: Mapping[str, str]
    """Pane id -> store scope (a track id, ALL or UNTRACKED)."""
    limits: Mapping[str, int]
    """Pane id -> rows to load (the pane's window, or more when the reader paged further)."""
    track_ids: tuple[str, ...]
    now: datetime
    search: str = ""
    unread_only: bool = False
    generation: int = 0
    """Bumped whenever the filter changes, so a late answer for an old filter is dropped."""


@dataclass(frozen=True, slots=True)
class ViewData:
    """One consistent read of the database for every pane, the pane titles and the status line."""

    query: ViewQuery
    rows: dict[str, list[Item]] = field(default_factory=dict)
    unread: dict[str, int] = field(default_factory=dict)
    hourly: dict[str, list[int]] = field(default_factory=dict)
    feeds: list[FeedState] = field(default_factory=list)
    next_due: datetime | None = None


def load_view(store: Store, query: ViewQuery) -> ViewData:
    """Read the window of each pane plus counts; every query is bounded by LIMIT or an index."""
    rows = {
        pane: store.query_items(
            track=scope,
            search=query.search or None,
            unread_only=query.unread_only,
            limit=query.limits.get(pane, 300),
        )
        for pane, scope in query.panes.items()
    }
    unread = store.unread_counts(list(query.track_ids))
    hourly = {
        pane: store.hourly_counts(None if scope in (ALL, UNTRACKED) else scope, query.now)
        for pane, scope in query.panes.items()
    }
    return ViewData(
        query=query,
        rows=rows,
        unread=unread,
        hourly=hourly,
        feeds=store.feed_states(),
        next_due=store.next_due(),
    )


def load_older(store: Store, scope: str, last: Item, query: ViewQuery, limit: int) -> list[Item]:
    """The page of rows after `last` under the same filter (keyset cursor: deep pages cost the same)."""
    return store.query_items(
        track=scope,
        search=query.search or None,
        unread_only=query.unread_only,
        limit=limit,
        before=(last.published, last.rowid),
    )
