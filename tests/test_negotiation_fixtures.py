"""Helpers for the negotiation tests: a real SQLite store seeded through the Store API, and a config."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.config import Config, FeedConfig, build_config, default_tables
from monitor.models import CleanEntry, FeedState, FeedStatus
from monitor.store import Store
from monitor.tagging import Tagger

T0 = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)
"""A fixed Tuesday morning the scenarios start from."""


def make_config(extra: dict[str, Any] | None = None) -> Config:
    """The shipped defaults (tracks, lexicon) in UTC, plus an optional layer."""
    layers = [*default_tables(), ("<test>", {"settings": {"timezone": "UTC"}})]
    if extra:
        layers.append(("<test-extra>", extra))
    return build_config(layers)


class Seeder:
    """Adds items the way the poller does: tag with the real Tagger, then store.save_poll."""

    def __init__(self, path: Path, config: Config) -> None:
        self.config = config
        self.store = Store(path)
        self.tagger = Tagger(config.tracks)
        self._feeds: dict[str, FeedConfig] = {}
        self._count = 0

    def add(
        self,
        title: str,
        summary: str = "",
        *,
        at: datetime,
        source: str = "Wire",
        link: str | None = None,
        tags: dict[str, list[str]] | None = None,
    ) -> str:
        self._count += 1
        item_id = f"item-{self._count:03d}"
        slug = re.sub(r"\W+", "-", source.lower()).strip("-") or "feed"
        url = f"https://{slug}.example/feed.xml"
        if url not in self._feeds:
            self._feeds[url] = FeedConfig(url=url, title=source)
            self.store.sync_feeds(list(self._feeds.values()), at)
        entry = CleanEntry(
            id=item_id,
            guid=item_id,
            link=link or f"https://{slug}.example/{item_id}",
            title=title,
            summary=summary,
            published=at,
            date_estimated=False,
        )
        matched = self.tagger.tag(title, summary) if tags is None else tags
        self.store.save_poll(
            FeedState(url=url, title=source, status=FeedStatus.OK),
            entries=[entry],
            tags={item_id: matched},
            source=source,
            now=at,
        )
        return item_id


def day(n: int, hours: float = 0) -> datetime:
    """Scenario day `n` (0-based) at 09:00 UTC plus `hours`."""
    return T0 + timedelta(days=n, hours=hours)


def seed_article(shared_dir: Path) -> tuple[str, str]:
    """The seed article as (title, summary): first line a kicker (dropped), second the title."""
    lines = (shared_dir / "seed-article.txt").read_text(encoding="utf-8").splitlines()
    return lines[1].strip(), "\n".join(lines[2:]).strip()
