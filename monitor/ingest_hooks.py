"""The poller every front end runs: new items also join stories and get their negotiation reading."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from monitor.config import Config
from monitor.models import FeedPollReport
from monitor.poller import Poller, utc_now
from monitor.store import Store


def make_poller(
    config: Config,
    store: Store,
    *,
    clock: Callable[[], datetime] = utc_now,
    on_feed: Callable[[FeedPollReport], None] | None = None,
    **kwargs: Any,
) -> Poller:
    """A Poller with the ingest hooks, so `sitmon poll`, the TUI and the demo store the same things."""
    poller = Poller(config, store, clock=clock, on_feed=on_feed, **kwargs)
    poller.after_store.append(_StoryHook(store, config, clock))
    poller.after_store.append(_ReadingHook(store, config))
    return poller


# The hooks import their engines when first called, after the cycle's fetching and storing:
# clustering and the negotiation engine take 80 ms to import, and a poll starts its requests first.


class _StoryHook:
    """New items join stories (`monitor.clustering`)."""

    def __init__(self, store: Store, config: Config, clock: Callable[[], datetime]) -> None:
        self._args = (store, config, clock)
        self._clusterer: Callable[[list[str]], object] | None = None

    def __call__(self, new_ids: list[str]) -> None:
        if self._clusterer is None:
            from monitor.clustering import cluster_hook

            self._clusterer = cluster_hook(*self._args)
        self._clusterer(new_ids)


class _ReadingHook:
    """New items get their negotiation reading (`monitor.negotiation.analyse_new_items`)."""

    def __init__(self, store: Store, config: Config) -> None:
        self._store = store
        self._config = config

    def __call__(self, new_ids: list[str]) -> None:
        from monitor.negotiation import analyse_new_items

        analyse_new_items(self._store, self._config, new_ids)
