"""What the main screen shows, read through the store's query layer (runs in a worker thread)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from monitor.models import FeedState, Item
from monitor.store import ALL, UNTRACKED, Store
from monitor.store.queries import SearchMatches


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
    first: tuple[str, ...] = ()
    """Panes on screen: read (and shown) before the others."""
    first_limits: Mapping[str, int] = field(default_factory=dict)
    """Pane id -> rows to read for it in the first part when fewer than `limits` (a pane whose filter
    changed needs a screenful at once; the rest of its window follows with the other panes)."""
    counts_first: bool = True
    """Read the counts (unread, feed states) with the first part; else with the second, the screen
    showing the counts it has meanwhile (a new filter changes none of them)."""


@dataclass(frozen=True, slots=True)
class ViewData:
    """One read of the database for some panes (every pane unless it is the second part of a refresh)."""

    query: ViewQuery
    rows: dict[str, list[Item]] = field(default_factory=dict)
    more: dict[str, list[Item]] = field(default_factory=dict)
    """Rows that continue a pane's window read in the first part (to be added below them)."""
    unread: dict[str, int] = field(default_factory=dict)
    hourly: dict[str, list[int]] = field(default_factory=dict)
    feeds: list[FeedState] | None = None
    """Feed states without item counts (the status line needs none). None when this part of a refresh
    has no counts: `unread` is empty then too."""
    next_due: datetime | None = None


class Cancelled(Exception):
    """The refresh was superseded while it read."""


@contextmanager
def cancellable(store: Store, cancelled: Callable[[], bool]) -> Iterator[None]:
    """Abort this thread's SQLite statement (within about a millisecond) once `cancelled()` is true:
    a search for a common beginning ("a") can take seconds, and the reader has typed on by then."""
    conn = store.conn
    conn.set_progress_handler(lambda: 1 if cancelled() else 0, 20_000)
    try:
        yield
    except sqlite3.OperationalError:
        if cancelled():
            raise Cancelled from None
        raise
    finally:
        conn.set_progress_handler(None, 0)
    if cancelled():
        raise Cancelled


def load_view(
    store: Store,
    query: ViewQuery,
    *,
    panes: Collection[str] | None = None,
    matches: SearchMatches | None = None,
    counts: bool = True,
    limits: Mapping[str, int] | None = None,
) -> ViewData:
    """Read the window of each pane (of `panes`, default all; `limits` overrides `query.limits`) and,
    with `counts`, the unread counts and feed states; every query is bounded by LIMIT or an index.

    A search's matches are prepared once (`matches`, made here when not given) and shared by the panes,
    which test each candidate row against the full-text index once.
    """
    chosen = {pane: scope for pane, scope in query.panes.items() if panes is None or pane in panes}
    if query.search and matches is None:
        matches = store.search_matches(query.search)
    limits = {**query.limits, **(limits or {})}
    rows = {
        pane: store.query_items(
            track=scope,
            matches=matches,
            unread_only=query.unread_only,
            limit=limits.get(pane, 300),
        )
        for pane, scope in chosen.items()
    }
    hourly = {
        pane: store.hourly_counts(None if scope in (ALL, UNTRACKED) else scope, query.now)
        for pane, scope in chosen.items()
    }
    if not counts:
        return ViewData(query=query, rows=rows, hourly=hourly)
    return ViewData(
        query=query,
        rows=rows,
        unread=store.unread_counts(list(query.track_ids)),
        hourly=hourly,
        feeds=store.feed_states(counts=False),
        next_due=store.next_due(),
    )


def view_parts(store: Store, query: ViewQuery) -> list[Callable[[], ViewData]]:
    """The reads of one refresh, in order: the panes on screen (`query.first`, as many rows as
    `query.first_limits` says), then the other panes and the rest of the first ones' windows, so the
    first part can be shown before the second is read; the counts come with the first part or, unless
    `query.counts_first`, the second. One part when every pane is on
    screen in full (or none is). A search is prepared once, by the first read, for both."""
    shared: list[SearchMatches | None] = []

    def matches() -> SearchMatches | None:
        if not shared:
            shared.append(store.search_matches(query.search) if query.search else None)
        return shared[0]

    first = [pane for pane in query.first if pane in query.panes]
    short = {
        pane: n for pane, n in query.first_limits.items() if pane in first and n < query.limits.get(pane, 300)
    }
    if not first or (len(first) == len(query.panes) and not short):
        return [lambda: load_view(store, query, matches=matches())]
    rest = [pane for pane in query.panes if pane not in first]
    got: dict[str, list[Item]] = {}

    def first_part() -> ViewData:
        data = load_view(
            store, query, panes=first, matches=matches(), limits=short, counts=query.counts_first
        )
        got.update(data.rows)
        return data

    def second_part() -> ViewData:
        data = load_view(store, query, panes=rest, matches=matches(), counts=not query.counts_first)
        for pane, limit in short.items():
            rows = got.get(pane, [])
            if len(rows) == limit:  # a full first window: the pane has more rows
                last = rows[-1]
                data.more[pane] = store.query_items(
                    track=query.panes[pane],
                    matches=matches(),
                    unread_only=query.unread_only,
                    limit=query.limits.get(pane, 300) - limit,
                    before=(last.published, last.rowid),
                )
        return data

    return [first_part, second_part]


def load_older(store: Store, scope: str, last: Item, query: ViewQuery, limit: int) -> list[Item]:
    """The page of rows after `last` under the same filter (keyset cursor: deep pages cost the same)."""
    return store.query_items(
        track=scope,
        search=query.search or None,
        unread_only=query.unread_only,
        limit=limit,
        before=(last.published, last.rowid),
    )
