"""A small, fixed database for TUI tests, written through the real Store API."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.config import Config, FeedConfig, build_config, default_tables
from monitor.models import CleanEntry
from monitor.store import Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
"""The frozen clock of every TUI test."""

FEEDS = (
    ("https://wire.example/world.xml", "Harbor Wire"),
    ("https://ledger.example/rss", "Meridian Ledger"),
    ("https://dispatch.example/atom", "Coastline Dispatch"),
)

ITEMS: tuple[tuple[str, int, str, str, dict[str, list[str]]], ...] = (
    # (id, minutes ago, title, summary, tracks -> matched terms); feed chosen by position
    (
        "g1",
        10,
        "Mediators in Cairo press Hamas and Israel on Phase Two",
        "Talks on the Rafah crossing resume.",
        {"gaza": ["Hamas", "Rafah"]},
    ),
    (
        "u1",
        20,
        "Kyiv says overnight drone attack hit energy sites",
        "Ukraine's air force reported 80 drones.",
        {"ukraine": ["Kyiv", "Ukraine"]},
    ),
    (
        "v1",
        30,
        "NSC weighs Venezuela strike options",
        "Officials discussed Maduro and the oil blockade.",
        {"venezuela": ["Venezuela", "Maduro"]},
    ),
    (
        "g2",
        45,
        "Aid convoys enter Khan Younis after delay",
        "The UN said 40 trucks crossed.",
        {"gaza": ["Khan Younis"]},
    ),
    ("x1", 50, "Central bank holds rates steady", "Markets were calm.", {}),
    (
        "u2",
        70,
        "Geneva round on prisoner exchange ends without deal",
        "Ukrainian and Russian envoys met.",
        {"ukraine": ["Ukrainian", "prisoner exchange"]},
    ),
    ("g3", 90, "Famine warning for northern Gaza", "Aid agencies warn of famine.", {"gaza": ["Gaza"]}),
    (
        "v2",
        120,
        "Caracas opposition calls for talks",
        "Venezuelan opposition leaders met in Caracas.",
        {"venezuela": ["Caracas"]},
    ),
    ("x2", 150, "Storm closes ports along the coast", "Shipping was suspended.", {}),
    (
        "u3",
        200,
        "Zelensky meets envoys in Istanbul",
        "Witkoff and Kushner attended.",
        {"ukraine": ["Zelensky"]},
    ),
)


def make_config(feeds: tuple[tuple[str, str], ...] = FEEDS, **settings: object) -> Config:
    """The built-in tracks with these feeds, times shown in UTC, and any settings overridden."""
    user = {
        "settings": {"timezone": "UTC", **settings},
        "feeds": [{"url": url, "title": title} for url, title in feeds],
    }
    return build_config([*default_tables(), ("<test>", user)])


def entry(item_id: str, minutes: int, title: str, summary: str, now: datetime = NOW) -> CleanEntry:
    return CleanEntry(
        id=item_id,
        guid=item_id,
        link=f"https://news.example/{item_id}",
        title=title,
        summary=summary,
        published=now - timedelta(minutes=minutes),
        date_estimated=False,
    )


def save(
    store: Store,
    feed: int,
    entries: list[CleanEntry],
    tags: dict[str, dict[str, list[str]]],
    fetched: datetime,
) -> list[str]:
    url, title = FEEDS[feed]
    state = store.feed_state(url)
    assert state is not None
    state = replace(state, last_polled=fetched, last_success=fetched, next_poll=fetched + timedelta(hours=1))
    return store.save_poll(state, entries=entries, tags=tags, source=title, now=fetched).new_ids


def seed(store: Store, *, fetched: datetime | None = None) -> None:
    """The ten ITEMS over three feeds, fetched an hour before NOW (so nothing counts as just arrived)."""
    fetched = fetched or NOW - timedelta(hours=1)
    store.sync_feeds([FeedConfig(url=u, title=t) for u, t in FEEDS], fetched)
    for feed in range(len(FEEDS)):
        chosen = [row for n, row in enumerate(ITEMS) if n % len(FEEDS) == feed]
        save(
            store,
            feed,
            [entry(i, m, t, s) for i, m, t, s, _ in chosen],
            {i: tags for i, _, _, _, tags in chosen if tags},
            fetched,
        )
